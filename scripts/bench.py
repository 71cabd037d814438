#!/usr/bin/env python
"""Replication benchmark on the local lab swarm: the entry point of the scripts/bench package.

    .venv/bin/python scripts/bench.py --quick        # see scripts/bench/__main__.py, or --help
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
