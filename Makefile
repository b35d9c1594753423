# Everything runs from a project-local virtual environment built from pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SETTINGS ?= settings.toml

.PHONY: install test lint demo custom-roles synth deploy bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Run the whole test suite (what CI runs).
test: $(STAMP)
	$(PY) -m pytest -q

## Run the worker end to end on the local two-account sandbox.
demo: $(STAMP)
	$(PY) -m sandbox.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy worker amplify_custom_roles project_settings sandbox infra

## Write amplify/backend/api/<api>/custom-roles.json from settings.toml (run before `amplify push`).
custom-roles: $(STAMP)
	$(PY) -m amplify_custom_roles --settings $(SETTINGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out bench-results.json
