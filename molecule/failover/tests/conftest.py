"""The shared helpers and fixtures (molecule/shared/helpers.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))

from helpers import *  # noqa: E402,F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
