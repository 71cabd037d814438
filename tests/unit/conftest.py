# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared set-up for the collection's unit tests.

The repository root is the collection root, and ``collections/ansible_collections/swarmdata/replication``
is a symlink back to it. Everything below is computed from this file's *resolved* location, so it works
whether pytest reached this file through the real path or through that symlink.

Order matters: ``ANSIBLE_COLLECTIONS_PATH`` must be set before anything imports ``ansible.constants``,
and the Ansible collection finder must be installed before anything imports ``ansible_collections``,
so that the lookup loaded by ``lookup_loader`` and the modules imported by the tests are the same
module objects (one ``TopologyError`` class, not two).
"""

import importlib.machinery
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / "collections"
COLLECTION_LINK = COLLECTIONS_DIR / "ansible_collections" / "swarmdata" / "replication"

if not (COLLECTION_LINK / "galaxy.yml").is_file():  # pragma: no cover - a broken checkout
    raise pytest.UsageError(f"{COLLECTION_LINK} does not lead to the collection (no galaxy.yml there)")

# 1. Ansible's configuration: read once, when ansible.constants is first imported.
_existing = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
    [str(COLLECTIONS_DIR)] + [p for p in _existing if p != str(COLLECTIONS_DIR)]
)

# 2. Plain imports: collections/ first on sys.path (kept there, not duplicated).
while str(COLLECTIONS_DIR) in sys.path:
    sys.path.remove(str(COLLECTIONS_DIR))
sys.path.insert(0, str(COLLECTIONS_DIR))

# 3. Ansible's collection finder, which lookup_loader needs to resolve swarmdata.replication.topology.
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

if AnsibleCollectionConfig.collection_finder is None:
    init_plugin_loader([str(COLLECTIONS_DIR)])

from ansible.module_utils.testing import patch_module_args


@dataclass
class ModuleRun:
    """What one in-process run of a module's main() produced."""

    rc: int
    result: dict
    stdout: str

    @property
    def failed(self):
        return bool(self.result.get("failed"))


@pytest.fixture
def run_module(capsys):
    """Run ``module.main()`` in-process with ``args``; return a :class:`ModuleRun`.

    exit_json/fail_json print the result as JSON on stdout and raise SystemExit, exactly as on a host.
    """

    def _run(module, args, check_mode=False, diff=False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        capsys.readouterr()  # drop anything printed before
        with patch_module_args(args), pytest.raises(SystemExit) as exc:
            module.main()
        stdout = capsys.readouterr().out
        result = json.loads(stdout)
        rc = exc.value.code or 0
        # exit_json exits 0, fail_json exits 1: the two must agree.
        assert (rc != 0) == bool(result.get("failed")), (rc, result)
        return ModuleRun(rc=rc, result=result, stdout=stdout)

    return _run


@pytest.fixture
def swarm_client(mocker):
    """A fake Docker client for an active Swarm manager, returned by ``docker.DockerClient(...)``.

    The collection's real ``docker_client`` and ``require_swarm_manager`` run against it.
    """
    client = mocker.MagicMock(name="DockerClient()")
    client.ping.return_value = True
    client.info.return_value = {"Swarm": {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "n1"}}
    factory = mocker.patch("docker.DockerClient", return_value=client)
    client.factory = factory
    return client


@pytest.fixture
def load_source():
    """``load(name, path)``: a fresh module object of a source file that is not importable as a package module (a
    container's program: the bind mover's files, p2p's st.py), executed anew for each test."""

    def load(name, path):
        loader = importlib.machinery.SourceFileLoader(name, str(path))
        spec = importlib.util.spec_from_loader(name, loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module

    return load
