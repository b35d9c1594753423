"""``python -m mutation_cli <command>``."""

from mutation_cli.main import main

raise SystemExit(main())
