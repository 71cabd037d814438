"""Helpers shared by the scenarios' testinfra checks: run ansible against the scenario's own lab nodes.

Each scenario's tests/conftest.py imports this module (fixtures included).
"""

import json
import os
import re
import subprocess
import time

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
# The swarm's hosts, sorted by name (a scenario's inventory may hold others: default's off-site backup host).
# testinfra's get_hosts takes an fnmatch pattern of group or host names, not Ansible's "a:b".
SWARM_HOSTS = "swarm_*"
PRIVATE_MARKERS = ("PRIVATE KEY", "b3BlbnNzaC1rZXktdjE")  # the second is base64 of 'openssh-key-v1'


def recap(output):
    """{host: {ok, changed, failed, ...}} from an ansible-playbook PLAY RECAP."""
    result = {}
    for line in output.splitlines():
        m = re.match(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", line.strip())
        if m:
            result[m.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2)))
    return result


def ansible_env(**extra):
    env = dict(os.environ)
    env.pop("ANSIBLE_LOG_PATH", None)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(PROJECT, "collections")
    env["ANSIBLE_ROLES_PATH"] = os.path.join(PROJECT, "roles")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.update(extra)
    return env


def run_playbook(*args, cwd=None, playbook="site.yml", inventory=None):
    cmd = ["ansible-playbook", "-i", inventory or INVENTORY, os.path.join(PROJECT, playbook)] + list(args)
    proc = subprocess.run(cmd, cwd=cwd or PROJECT, env=ansible_env(), capture_output=True, text=True,
                          timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def run_module(host, module, args, *extra, cwd=None, env=None):
    cmd = ["ansible", host, "-i", INVENTORY, "-m", module, "-a", json.dumps(args)] + list(extra)
    proc = subprocess.run(cmd, cwd=cwd or PROJECT, env=env or ansible_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def managers():
    return RUNNER.get_hosts("swarm_managers")


@pytest.fixture(scope="session")
def all_hosts():
    return RUNNER.get_hosts(SWARM_HOSTS)


@pytest.fixture(scope="session")
def manager_host(managers):
    return testinfra.get_host("docker://" + managers[0])


@pytest.fixture(scope="session")
def group_vars():
    inv = json.loads(subprocess.run(["ansible-inventory", "-i", INVENTORY, "--list"], env=ansible_env(),
                                    capture_output=True, text=True, check=True).stdout)
    return inv["_meta"]["hostvars"][RUNNER.get_hosts(SWARM_HOSTS)[0]]


MANIFEST_SCRIPT = r"""
import hashlib, json, os, stat, sys
root = sys.argv[1]
out = {}
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        digest = None
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            digest = os.readlink(p)
        mtime = None if stat.S_ISDIR(st.st_mode) else int(st.st_mtime)
        out[rel] = [st.st_mode, st.st_uid, st.st_gid, st.st_size if not stat.S_ISDIR(st.st_mode) else 0, mtime, digest]
json.dump(out, sys.stdout, sort_keys=True)
"""


def manifest(host, path):
    """{relative path: [mode, uid, gid, size, mtime, sha256 or link target]} of a tree on a node."""
    out = host.check_output("python3 -c %s %s" % (shlex_quote(MANIFEST_SCRIPT), shlex_quote(path)))
    return json.loads(out)


def shlex_quote(text):
    import shlex

    return shlex.quote(text)


def cluster_state(hosts):
    """What a refused run must leave as it was: node labels, each service's spec version, every namespace file."""
    first = hosts[0]
    labels = first.check_output("docker node inspect --format '{{json .Spec.Labels}}' $(docker node ls -q)")
    services = first.check_output(
        "docker service ls -q | xargs -r docker service inspect --format '{{.Spec.Name}} {{.Version.Index}}'")
    data = [manifest(h, "/opt/swarmdata/namespaces") for h in hosts]
    return labels, sorted(services.splitlines()), data


def assert_variant_change_refused(nodes, running, wanted):
    """site.yml with another replication_variant stops in its first play and changes nothing (docs/data-safety.md
    section 8). nodes: {inventory host: testinfra host} of every lab node; the namespaces hold data."""
    managers = RUNNER.get_hosts("swarm_managers")
    hosts = [nodes[h] for h in managers + sorted(set(nodes) - set(managers))]  # a manager first: it reads the swarm
    before = cluster_state(hosts)
    assert sum(len(d) for d in before[2]) > 3 * len(hosts), "the namespaces hold no data to protect"
    # What an operator switching to bind writes as well: its primary.
    change = ["-e", "replication_variant=%s" % wanted] + (
        ["-e", "replication_primary=%s" % RUNNER.get_hosts("swarm_managers")[0]] if wanted == "bind" else [])
    rc, out = run_playbook(*change)
    assert rc != 0, out[-2000:]
    assert "replication_variant is %s, but this swarm runs the %s variant" % (wanted, running) in out, out[-3000:]
    assert "docs/data-safety.md section 8" in out and "replication_variant_from=%s" % running in out, out[-3000:]
    assert set(recap(out)) <= {"localhost"}, "a lab host was reached: %s" % recap(out)
    # A wrong acknowledgement is refused the same way, and names what is wrong.
    other = [v for v in ("bind", "glusterfs", "p2p") if v not in (running, wanted)][0]
    rc, out = run_playbook(*change, "-e", "replication_variant_from=%s" % other)
    assert rc != 0 and "replication_variant_from is %s, which names no variant" % other in out, out[-3000:]
    assert set(recap(out)) <= {"localhost"}, "a lab host was reached: %s" % recap(out)
    assert cluster_state(hosts) == before, "a refused variant change changed the cluster"


def sums(host, ns_dir, names):
    """{name: sha256} of the files ``names`` in ``ns_dir`` on ``host`` (missing ones left out)."""
    out = host.run("cd %s && sha256sum %s 2>/dev/null" % (shlex_quote(ns_dir), " ".join(names))).stdout
    return dict((line.split()[1], line.split()[0]) for line in out.splitlines() if line.strip())


def wait_sums(hosts, ns_dir, names, want, timeout=180):
    """Wait until every host holds exactly ``want`` ({name: sha256}) of the files ``names``; what each holds."""
    deadline = time.time() + timeout
    while True:
        seen = dict((h.backend.name, sums(h, ns_dir, names)) for h in hosts)
        if all(s == want for s in seen.values()) or time.time() > deadline:
            return seen
        time.sleep(2)


def assert_backup_and_restore_round_trip(hosts, ns, root="/opt/swarmdata"):
    """Backups on a variant whose namespace any member holds (glusterfs, p2p; docs/backup.md): files written on one
    node, backup.yml takes a verified backup from some member's copy; one file deleted and one corrupted in place
    reach every node; restore.yml brings both back, identical by checksum on every node."""
    ns_dir = "%s/namespaces/%s" % (root, ns)
    names = ["bk-%d.bin" % i for i in range(6)]
    # The service's own first backup, taken as it starts, holds the namespace's run lock: backup.yml after it.
    manager = testinfra.get_host("docker://" + RUNNER.get_hosts("swarm_managers")[0])
    node, deadline = "", time.time() + 240
    while True:
        node = manager.run("docker service ps --filter desired-state=running --format '{{.Node}}' "
                           "swarmdata-backup_backup-%s" % ns).stdout.strip()
        prom = testinfra.get_host("docker://" + node).run(
            "cat %s/state/backup/%s.prom" % (root, ns)).stdout if node else ""
        if re.search(r'^swarmdata_backup_last_success_timestamp_seconds\{[^}]*repository="main"[^}]*\} [1-9]', prom,
                     re.M):
            break
        assert time.time() < deadline, "no first backup of %s by its service on %r: %s" % (ns, node, prom[-2000:])
        time.sleep(3)
    writer = hosts[0]
    writer.check_output("cd %s && for f in %s; do head -c 300000 /dev/urandom > $f; done" % (ns_dir, " ".join(names)))
    good = sums(writer, ns_dir, names)
    seen = wait_sums(hosts, ns_dir, names, good)
    assert all(s == good for s in seen.values()), seen
    rc, out = run_playbook("-e", "namespace=" + ns, playbook="playbooks/backup.yml")
    assert rc == 0 and re.search(r"""["']?drill["']?: ["']?ok""", out), out[-3000:]
    assert re.search(r"""["']?source["']?: ["']?/sources/%s""" % ns, out), out[-3000:]
    writer.check_output("cd %s && rm %s && printf XXXX | dd of=%s bs=1 seek=100 conv=notrunc 2>/dev/null"
                        % (ns_dir, names[0], names[1]))
    damaged = dict(good)
    damaged.pop(names[0])
    damaged[names[1]] = sums(writer, ns_dir, [names[1]])[names[1]]
    seen = wait_sums(hosts, ns_dir, names, damaged)
    assert all(s == damaged for s in seen.values()), seen
    rc, out = run_playbook("-e", "namespace=" + ns, playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    seen = wait_sums(hosts, ns_dir, names, good)
    assert all(s == good for s in seen.values()), seen
