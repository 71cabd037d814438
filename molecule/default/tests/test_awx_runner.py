"""The way AWX runs a job template, on the real lab (docs/awx.md): ansible-runner's transmit | worker | process
pipeline (what AWX and receptor do), over real SSH to the nodes' sshd, from a private data dir holding a clean
export of the repository as the project, the inventory, the survey's answers in env/extravars and the SSH key as
the machine credential in env/ssh_key. ANSIBLE_COLLECTIONS_PATHS is set as AWX sets it, so the collection is found
only next to the playbooks.

Checks: the artifacts report success, a second site run reports changed=0, status runs, nothing is written outside
the private data dir and the nodes, and no secret is in the job events, even at -vvv."""

import glob
import json
import os
import shutil
import subprocess

import pytest
import yaml
from helpers import PRIVATE_MARKERS, PROJECT, RUNNER

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]
INVENTORY_KEYS = ("replication_", "bind_", "p2p_", "glusterfs_", "backup_", "swarm_", "swarmdata_",
                  "ansible_python_interpreter")


def export_project(dest):
    """The repository's files as git knows them (tracked, and new ones not ignored), links kept as links."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PROJECT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src, dst = os.path.join(PROJECT, rel), os.path.join(dest, rel)
        if not os.path.lexists(src):
            continue  # deleted in the working tree
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def job(tmp_path_factory, group_vars):
    hosts = RUNNER.get_hosts("all")
    base = tmp_path_factory.mktemp("awx")
    pdd, home, scratch = base / "pdd", base / "home", base / "tmp"
    for d in (pdd / "env", pdd / "inventory", home, scratch):
        d.mkdir(parents=True)
    export_project(pdd / "project")
    key = base / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "swarmdata-awx-test", "-f", str(key)],
                   check=True)
    public = (base / "key.pub").read_text().strip()
    addresses = {}
    for name in hosts:
        h = RUNNER.get_host(name)
        h.check_output("install -d -m 0700 /root/.ssh && echo %s >> /root/.ssh/authorized_keys" % public)
        addresses[name] = subprocess.run(
            ["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name],
            check=True, capture_output=True, text=True).stdout.split()[0]
    inventory = {"all": {
        "vars": dict({k: v for k, v in group_vars.items() if k.startswith(INVENTORY_KEYS)}, ansible_user="root"),
        "children": {group: {"hosts": {n: {"ansible_host": addresses[n]} for n in RUNNER.get_hosts(group)}}
                     for group in ("swarm_managers", "swarm_workers", "backup_offsite")}}}
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (pdd / "env" / "ssh_key").write_text(key.read_text())
    (pdd / "env" / "cmdline").write_text("-vvv")  # the job template's verbosity at its highest
    # What AWX puts in a job's environment: its own collections path (overriding ansible.cfg), ssh's control
    # sockets on the execution node (here the worker's side: a socket in the private data dir could not be
    # transmitted by the next job), and no host key prompt (AWX's default for a machine credential).
    collections = str(pdd / "requirements_collections")
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATHS": collections, "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(base / "worker-cp"), "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_FORCE_COLOR": "0"}))
    before = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT, capture_output=True, text=True,
                            check=True).stdout

    def run(playbook, extravars, ident):
        (pdd / "env" / "extravars").write_text(json.dumps(extravars))
        env = dict(os.environ, HOME=str(home), TMPDIR=str(scratch))
        env.pop("ANSIBLE_COLLECTIONS_PATH", None)
        env.pop("ANSIBLE_ROLES_PATH", None)
        worker_dir = base / ("worker-" + ident)
        pipeline = ("ansible-runner transmit {pdd} -p {pb} --ident {ident}"
                    " | ansible-runner worker --private-data-dir {wd}"
                    " | ansible-runner process {pdd} --ident {ident}").format(
                        pdd=pdd, pb=playbook, ident=ident, wd=worker_dir)
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], env=env, capture_output=True, text=True,
                              timeout=1200, check=False)
        art = pdd / "artifacts" / ident
        events = []
        for path in sorted(glob.glob(str(art / "job_events" / "*.json"))):
            with open(path) as handle:
                events.append(json.load(handle))
        status = (art / "status").read_text().strip() if (art / "status").exists() else "missing"
        return {"rc": proc.returncode, "status": status, "events": events, "stdout": proc.stdout + proc.stderr,
                "text": (art / "stdout").read_text() if (art / "stdout").exists() else ""}

    results = {"first": run("site.yml", {"replication_primary_move_to": ""}, "site-1")}
    results["second"] = run("site.yml", {"replication_primary_move_to": ""}, "site-2")
    results["status"] = run("playbooks/status.yml", {}, "status-1")
    results.update(home=home, scratch=scratch, before=before,
                   after=subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT, capture_output=True,
                                        text=True, check=True).stdout)
    yield results
    for name in hosts:
        RUNNER.get_host(name).run("sed -i '/swarmdata-awx-test/d' /root/.ssh/authorized_keys")


def stats(result):
    found = [e["event_data"] for e in result["events"] if e.get("event") == "playbook_on_stats"]
    assert found, result["stdout"][-3000:]
    return found[-1]


def test_site_and_status_succeed_over_ssh_as_awx_runs_them(job):
    for name in ("first", "second", "status"):
        result = job[name]
        assert result["rc"] == 0 and result["status"] == "successful", (name, result["stdout"][-3000:])
        assert not stats(result).get("failures") and not stats(result).get("dark"), stats(result)
    # It really went over SSH, not docker exec.
    assert "ESTABLISH SSH CONNECTION" in job["first"]["text"] and "community.docker.docker" not in job["first"]["text"]


def test_a_second_site_run_changes_nothing(job):
    assert not stats(job["second"]).get("changed"), stats(job["second"])["changed"]


def test_nothing_is_written_outside_the_private_data_dir_and_the_nodes(job):
    assert job["after"] == job["before"]  # the repository it was exported from
    left = [os.path.join(d, f) for top in (job["home"], job["scratch"]) for d, _dirs, fs in os.walk(top) for f in fs]
    assert left == [], left


def test_no_secret_in_the_job_events(job, host):
    sender = host.check_output("docker ps -q -f label=com.docker.swarm.service.name=swarmdata_sender").split()[0]
    key = host.check_output("docker exec %s cat /run/secrets/mover_key" % sender)
    secrets = [line for line in key.splitlines() if line and not line.startswith("-----")]
    secrets += [host.check_output("docker swarm join-token -q %s" % kind) for kind in ("worker", "manager")]
    assert secrets and all(secrets)
    for name in ("first", "second", "status"):
        dump = json.dumps(job[name]["events"]) + job[name]["text"]
        assert len(dump) > 10000  # the events are there (at -vvv they are long)
        for secret in secrets:
            assert secret not in dump, name
        for marker in PRIVATE_MARKERS:
            assert marker not in dump, name
