"""A fourth node added, removed and put back, and a worker promoted and demoted, on this scenario's lab: the tests
are in molecule/shared/nodes.py, shared with the other variants.
Runs after test_bind.py and test_guards.py (same lab)."""

from nodes import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
