# Everything runs from a project-local virtual environment built from pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SETTINGS ?= settings.toml

.PHONY: install test lint demo sandbox custom-roles package synth deploy bench soak docs-figures clean

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

## The two-account sandbox for the settings' own schema, until Ctrl-C; writes build/sandbox.env (then
## `set -a; . build/sandbox.env; set +a` and `appsync-mutations doctor|send|replay`). SANDBOX_ARGS: --schema, --backend.
sandbox: $(STAMP)
	$(PY) -m sandbox --settings $(SETTINGS) $(SANDBOX_ARGS)

## Throughput, overhead and cold start vs the naive baseline: table + bench-results.json.
## LATENCY_MS sets the stand-in's added latency; BENCH_ARGS passes more options (python -m benchmarks --help).
LATENCY_MS ?= 25
bench: $(STAMP)
	$(PY) -m benchmarks --latency-ms $(LATENCY_MS) $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy worker amplify_custom_roles project_settings sandbox infra mutation_cli benchmarks

## Write amplify/backend/api/<api>/custom-roles.json from settings.toml (run before `amplify push`).
custom-roles: $(STAMP)
	$(PY) -m amplify_custom_roles --settings $(SETTINGS) $(ARGS)

## Build the Lambda package into build/lambda: Lambda-platform wheels of [project.dependencies] + worker/.
## The one infra step that downloads (from the package index); synth uses build/lambda when present.
package: $(STAMP)
	$(PY) -m infra.packaging --out build/lambda --settings $(SETTINGS)

## Write both accounts' CloudFormation templates to cdk.out/ (offline; cdk-nag runs and must pass).
synth: $(STAMP)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(PY) -m infra.app --settings $(SETTINGS) --outdir cdk.out

## Deploy both stacks (needs the cdk CLI: npm i -g aws-cdk; not run in CI). See infra/README.md.
## PROFILE_B: credentials for the Amplify account (B), PROFILE_A: for the worker account (A, bootstrapped).
deploy: $(STAMP)
	@test -n "$(PROFILE_A)" -a -n "$(PROFILE_B)" || { echo "set PROFILE_A=<account A profile> PROFILE_B=<account B profile>"; exit 2; }
	$(MAKE) package
	$(MAKE) synth
	cdk deploy --app cdk.out --profile $(PROFILE_B) AccountBMutatorRole
	cdk deploy --app cdk.out --profile $(PROFILE_A) AccountAWorker

## The full soak (SOAK_MESSAGES, default 5000) through the sandbox's SQS path with faults; figures printed
## last and written to build/soak-report.json (the fast variant runs in `make test`).
soak: $(STAMP)
	$(PY) -m pytest -m soak -s -q tests/reliability/test_soak.py

## Rewrite the figures sections of docs/performance.md and docs/reliability.md from bench-results.json and the
## reports in build/ (soak, memory, outcome properties, bad input); an absent report leaves its section as it is.
docs-figures: $(STAMP)
	$(PY) -m benchmarks.report

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out bench-results.json
