"""Exit codes shared by every command, and the one error that means "the operator asked wrongly"."""

from __future__ import annotations

OK = 0
FAILED = 1  # partial failure, or a doctor check failed
USAGE = 2  # bad arguments, unreadable input, invalid configuration
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class UsageError(Exception):
    """Invalid arguments or input: reported in one line, exit code 2, nothing sent."""
