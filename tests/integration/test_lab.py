"""The lab role for real: nodes up (systemd, Docker on overlay2, sshd), idempotent, and removed without
touching anything it did not create."""

import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
LAB = "swarmdata-itest"
LABEL = "io.swarmdata.lab"


def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=check).stdout.strip()


def lab(*extra):
    proc = subprocess.run(
        ["ansible-playbook", os.path.join(ROOT, "playbooks", "lab.yml"), "-e", "lab_name=" + LAB] + list(extra),
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", proc.stdout)
    return int(m.group(1))


@pytest.fixture(scope="module")
def decoys():
    """Things the lab must not remove: another lab's network and an unlabelled volume named like ours."""
    docker("network", "create", "--label", LABEL + "=another-lab", LAB + "-other-net")
    docker("volume", "create", LAB + "-9-docker")
    yield
    docker("network", "rm", LAB + "-other-net", check=False)
    docker("volume", "rm", LAB + "-9-docker", check=False)


def test_lab_up_idempotent_and_down(tmp_path, decoys):
    inventory = tmp_path / "hosts.yml"
    try:
        lab("-e", "lab_nodes=2", "-e", "lab_inventory_path=" + str(inventory))
        text = inventory.read_text()
        assert "swarm_managers" in text and LAB + "-1:" in text and LAB + "-2:" in text

        for node in (LAB + "-1", LAB + "-2"):
            assert docker("exec", node, "systemctl", "is-active", "docker", "ssh") == "active\nactive"
            assert docker("exec", node, "docker", "info", "--format", "{{.Driver}}") == "overlay2"
            assert docker("exec", node, "hostname") == node

        assert lab("-e", "lab_nodes=2", "-e", "lab_inventory_path=" + str(inventory)) == 0
    finally:
        lab("-e", "lab_state=absent", "-e", "lab_inventory_path=" + str(inventory))

    assert docker("ps", "-a", "--filter", "label=%s=%s" % (LABEL, LAB), "-q") == ""
    assert docker("network", "ls", "--filter", "label=%s=%s" % (LABEL, LAB), "-q") == ""
    assert docker("volume", "ls", "--filter", "label=%s=%s" % (LABEL, LAB), "-q") == ""
    assert not inventory.exists()
    # What the lab did not create is still there.
    assert json.loads(docker("network", "inspect", LAB + "-other-net"))[0]["Labels"][LABEL] == "another-lab"
    assert docker("volume", "inspect", LAB + "-9-docker", "--format", "{{.Name}}") == LAB + "-9-docker"
