"""Fixtures shared by the tests under tests/ (and tests/browser/)."""

from tests.deployment import deployment, static_root  # noqa: F401 (fixtures: nginx + two app processes)
