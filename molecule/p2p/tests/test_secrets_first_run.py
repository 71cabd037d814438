"""No secret in the output of a first p2p run on a fresh swarm at -vvv with --diff (docs/data-safety.md section 3).

The last test of the scenario (this file sorts after test_p2p.py): every node leaves the swarm and loses its data
root (a fresh lab), then site.yml forms a new one, whose join tokens, freshly made Syncthing identities and API key
are what the output must not hold. They are read afterwards from the swarm and from inside a Syncthing container
(the secrets as mounted there), so the check compares against the real values, not against a pattern."""

import os
import subprocess
import time

import pytest
from helpers import PRIVATE_MARKERS, RUNNER, SWARM_HOSTS, ansible_env

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]
SERVICE = "swarmdata_syncthing"
ROOT = "/opt/swarmdata"


def syncthing_container(host, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        cid = host.run("docker ps -q -f label=com.docker.swarm.service.name=%s" % SERVICE).stdout.split()
        if cid:
            return cid[0]
        time.sleep(2)
    pytest.fail("no %s container on the first manager %d s after the run" % (SERVICE, timeout))


def key_body(pem):
    """The base64 lines of the PEM private key in ``pem`` (between its BEGIN and END markers)."""
    lines = pem.splitlines()
    begin = [i for i, line in enumerate(lines) if line.startswith("-----BEGIN") and "PRIVATE KEY" in line]
    assert begin, "no private key in the identity secret"
    end = [i for i, line in enumerate(lines) if i > begin[0] and line.startswith("-----END")]
    assert end, "the identity secret's private key has no END marker"
    return [line.strip() for line in lines[begin[0] + 1:end[0]] if line.strip()]


def leaks(out, secrets):
    """Which of ``secrets`` ({what: [strings]}) appear in ``out``."""
    return sorted(what for what, values in secrets.items() for value in values if value in out)


def fresh_node(node, timeout=120):
    """Make ``node`` what a fresh lab node is: out of the swarm, no Syncthing running, no data root. A new swarm
    gives the namespaces new identities, so the old markers would (rightly) be refused by node_dirs."""
    node.run("docker swarm leave --force")
    deadline = time.time() + timeout
    while node.run("docker ps -q -f label=com.docker.swarm.service.name=%s" % SERVICE).stdout.strip():
        if time.time() > deadline:
            pytest.fail("%s still runs on %s %d s after it left the swarm" % (SERVICE, node.backend.host, timeout))
        time.sleep(2)
    node.check_output("findmnt -rn -o TARGET | grep '^%s' | sort -r | xargs -r umount; rm -rf %s" % (ROOT, ROOT))


def test_first_run_on_a_fresh_swarm_prints_no_join_token_identity_or_api_key(host):
    for name in RUNNER.get_hosts(SWARM_HOSTS):
        fresh_node(RUNNER.get_host(name))
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
           os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "site.yml"), "-vvv", "--diff"]
    started = time.time()
    proc = subprocess.run(cmd, cwd=os.environ["MOLECULE_PROJECT_DIRECTORY"], env=ansible_env(), capture_output=True,
                          text=True, timeout=1200, check=False)
    out = proc.stdout + proc.stderr
    print("first -vvv run on a fresh swarm: %.0f s, %d bytes of output" % (time.time() - started, len(out)))
    assert proc.returncode == 0, out[-3000:]
    # The output does hold what the secret-making tasks returned (so a leak there would be seen).
    assert "Make sure every node's identity and the API key exist as Swarm secrets" in out
    assert '"device_ids"' in out
    assert "New Swarm cluster created" not in out  # the init result (it carries the tokens) stays hidden

    tokens = [host.check_output("docker swarm join-token -q %s" % kind) for kind in ("worker", "manager")]
    assert all(t.startswith("SWMTKN-") for t in tokens)
    cid = syncthing_container(host)
    api_key = host.check_output("docker exec %s cat /run/secrets/syncthing-apikey" % cid).strip()
    assert len(api_key) >= 32, "the API key secret is empty or short"
    identity_files = host.check_output("docker exec %s sh -c 'ls /run/secrets/identity-*'" % cid).split()
    assert len(identity_files) == len(RUNNER.get_hosts(SWARM_HOSTS)), identity_files
    bodies = dict((path, key_body(host.check_output("docker exec %s cat %s" % (cid, path))))
                  for path in identity_files)
    assert all(bodies.values())

    secrets = {"worker join token": [tokens[0], tokens[0].split("-")[-1]],
               "manager join token": [tokens[1], tokens[1].split("-")[-1]],
               "Syncthing API key": [api_key]}
    for path, body in bodies.items():
        secrets["private key of %s" % path] = body
    # The check itself can see a leak: any of these values pasted into the output is found.
    assert leaks(out + "\n" + api_key, secrets) == ["Syncthing API key"]
    assert leaks(out + "\n" + bodies[identity_files[0]][1], secrets) == ["private key of %s" % identity_files[0]]

    assert leaks(out, secrets) == []
    assert "SWMTKN-" not in out
    for marker in PRIVATE_MARKERS:
        assert marker not in out
