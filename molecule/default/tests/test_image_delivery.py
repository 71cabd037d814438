"""Every image delivery the image role offers, on the real lab: relay (the default: built on one node, copied
through the controller, which needs no Docker engine), load (built by the controller's engine) and build (on
every node). Each ends with the same image on every node, a second run changes nothing, and only load touches
the controller's engine."""

import os
import re
import subprocess
import uuid

import pytest
from helpers import RUNNER, SWARM_HOSTS, recap, run_playbook

PLAYBOOK = os.path.join("molecule", "default", "image_delivery.yml")
DOCKERFILE = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY stamp /stamp\n"


def controller_has(ref):
    return subprocess.run(["docker", "image", "inspect", ref], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


@pytest.mark.parametrize("delivery", ["relay", "load", "build"])
def test_each_delivery_puts_the_same_image_on_every_node(delivery, tmp_path):
    stamp = uuid.uuid4().hex
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "stamp").write_text(stamp + "\n")
    repo = "swarmdata-test/delivery-%s" % delivery
    args = ["-e", "delivery=%s" % delivery, "-e", "context=%s" % tmp_path, "-e", "repo=%s" % repo]
    hosts = [RUNNER.get_host(h) for h in RUNNER.get_hosts(SWARM_HOSTS)]
    ref = None
    try:
        rc, out = run_playbook(*args, playbook=PLAYBOOK)
        assert rc == 0, out[-3000:]
        ref = re.search(r"image_ref=([^\s\"']+)", out).group(1)
        ids = set()
        for h in hosts:
            ids.add(h.check_output("docker image inspect --format '{{.Id}}' %s" % ref))
            assert h.check_output("docker run --rm --entrypoint cat %s /stamp" % ref) == stamp
        if delivery != "build":
            assert len(ids) == 1, ids  # one build, the same image everywhere
        # Only load used the controller's engine; relay and build need none there.
        assert controller_has(ref) == (delivery == "load"), ref
        assert not any(h.file("/var/tmp/swarmdata-image.tar").exists for h in hosts)
        rc, out = run_playbook(*args, playbook=PLAYBOOK)
        assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out[-2000:]
    finally:
        for h in hosts:
            h.run("docker image ls --quiet %s | xargs -r docker image rm --force" % repo)
        subprocess.run("docker image ls --quiet %s | xargs -r docker image rm --force" % repo, shell=True,
                       check=False, stdout=subprocess.DEVNULL)


def test_relay_in_check_mode_changes_nothing_and_fills_only_the_node_that_lacks_it(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "stamp").write_text(uuid.uuid4().hex + "\n")
    repo = "swarmdata-test/delivery-partial"
    args = ["-e", "delivery=relay", "-e", "context=%s" % tmp_path, "-e", "repo=%s" % repo]
    names = RUNNER.get_hosts(SWARM_HOSTS)
    hosts = [RUNNER.get_host(h) for h in names]
    try:
        rc, out = run_playbook("--check", *args, playbook=PLAYBOOK)
        assert rc == 0 and all(recap(out)[h]["changed"] >= 1 for h in names), out[-2000:]
        ref = re.search(r"image_ref=([^\s\"']+)", out).group(1)
        assert not any(h.run("docker image inspect %s" % ref).rc == 0 for h in hosts)  # check mode built nothing
        rc, out = run_playbook(*args, playbook=PLAYBOOK)
        assert rc == 0, out[-2000:]
        hosts[-1].check_output("docker image rm %s" % ref)
        rc, out = run_playbook(*args, playbook=PLAYBOOK)
        assert rc == 0, out[-2000:]
        assert recap(out)[names[-1]]["changed"] >= 1, out[-2000:]
        assert "Copy the build files" not in out, out[-3000:]  # no build: exported from a node that has it
        assert hosts[-1].run("docker image inspect %s" % ref).rc == 0 and not controller_has(ref)
    finally:
        for h in hosts:
            h.run("docker image ls --quiet %s | xargs -r docker image rm --force" % repo)
