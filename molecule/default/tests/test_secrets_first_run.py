"""No secret in the output of a first run on a fresh swarm at -vvv with --diff (docs/data-safety.md section 3).

Runs after test_default.py: every node leaves the swarm, then site.yml forms a new one, whose manager and worker
join tokens and freshly made keys are what the output must not hold. The tokens and the mover key are read
afterwards from the swarm and from the sender's secret, so the check compares against the real values."""

import os
import subprocess

from helpers import PRIVATE_MARKERS, RUNNER, SWARM_HOSTS, ansible_env

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]


def test_first_run_on_a_fresh_swarm_prints_no_join_token_and_no_key(host, group_vars):
    # The namespaces' identity before the swarm is lost: the new swarm must adopt it from the markers.
    marker = host.check_output("cat /opt/swarmdata/namespaces/wiki/.swarmdata-id")
    for name in RUNNER.get_hosts(SWARM_HOSTS):
        RUNNER.get_host(name).run("docker swarm leave --force")
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
           os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "site.yml"), "-vvv", "--diff"]
    proc = subprocess.run(cmd, cwd=os.environ["MOLECULE_PROJECT_DIRECTORY"], env=ansible_env(), capture_output=True,
                          text=True, timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    adopted = host.check_output("docker config inspect --format '{{index .Spec.Labels \"swarmdata.namespace-id\"}}' "
                                "swarmdata-ns-wiki")
    assert adopted == marker, "the new swarm made a new identity instead of adopting the markers' one"
    assert "New Swarm cluster created" not in out  # the init result (it carries the tokens) stays hidden
    tokens = [host.check_output("docker swarm join-token -q %s" % kind) for kind in ("worker", "manager")]
    assert all(t.startswith("SWMTKN-") for t in tokens)
    assert "SWMTKN-" not in out
    for token in tokens:
        assert token not in out and token.split("-")[-1] not in out
    sender = host.check_output("docker ps -q -f label=com.docker.swarm.service.name=swarmdata_sender")
    assert sender, "no sender on the first manager (the primary) after the run"
    key = host.check_output("docker exec %s cat /run/secrets/mover_key" % sender.split()[0])
    body = [line for line in key.splitlines() if line and not line.startswith("-----")]
    assert body, "the mover key secret is empty"
    for line in body:
        assert line not in out
    for marker in PRIVATE_MARKERS:
        assert marker not in out
    # The backup stack's new HTTP credentials, and the htpasswd line written on the off-site host (with --diff).
    repo_host = RUNNER.get_host(group_vars["replication_backup_host"])
    repo = repo_host.check_output("docker ps -q -f label=com.docker.swarm.service.name=swarmdata-backup_repo")
    http = repo_host.check_output("docker exec %s cat /run/secrets/backup_http" % repo.split()[0])
    line = RUNNER.get_host(group_vars["replication_backup_offsite_host"]).check_output(
        "cat /etc/swarmdata/offsite.htpasswd")
    assert len(http) == 64 and line.startswith("swarmdata:{SHA}")
    assert http not in out and line.split("{SHA}")[1] not in out
