"""Offline stand-in for the get-pip.py bootstrap that ansible-test downloads from its own CI host.

ansible-test creates its sanity venvs without pip and fetches a get-pip.py script to put pip in them;
that host is not reachable from here, PyPI is. This does the same job: bootstrap pip from the
interpreter's bundled wheel (ensurepip), then install what ansible-test asked for (the pinned pip)
from PyPI with the machine's pip configuration. scripts/test.sh copies it to ~/.ansible/test/cache/.
"""

import os
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
# ensurepip hides pip's configuration while it runs; the install below must see it (index, CA bundle).
env = dict(os.environ)
env.pop("PIP_CONFIG_FILE", None)
# get-pip.py's own flags; pip install does not know them.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args, env=env)
