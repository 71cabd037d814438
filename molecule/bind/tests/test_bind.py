"""The bind variant on a real 3-node swarm: live rsync-over-SSH from the primary to both replicas.

Every wait is bounded; a timeout fails with what still differs.
"""

import re
import shlex
import subprocess
import time

import pytest
import testinfra
from helpers import RUNNER, SWARM_HOSTS, manifest, recap, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]  # each test drives the lab itself
ROOT = "/opt/swarmdata/namespaces"
NAMESPACES = ("wiki", "db", "media")


@pytest.fixture(scope="module")
def lab(group_vars):
    primary = group_vars["replication_primary"]
    replicas = [h for h in RUNNER.get_hosts(SWARM_HOSTS) if h != primary]
    return {
        "primary": primary,
        "replicas": replicas,
        "hosts": dict((h, testinfra.get_host("docker://" + h)) for h in [primary] + replicas),
    }


def differences(lab, namespaces=NAMESPACES):
    diffs = []
    for ns in namespaces:
        want = manifest(lab["hosts"][lab["primary"]], "%s/%s" % (ROOT, ns))
        for replica in lab["replicas"]:
            have = manifest(lab["hosts"][replica], "%s/%s" % (ROOT, ns))
            if have != want:
                missing = sorted(set(want) - set(have))
                extra = sorted(set(have) - set(want))
                changed = sorted(k for k in set(want) & set(have) if want[k] != have[k])
                diffs.append("%s/%s: %d missing %s, %d extra %s, %d differ %s" % (
                    replica, ns, len(missing), missing[:3], len(extra), extra[:3], len(changed),
                    [(k, want[k], have[k]) for k in changed[:2]]))
    return diffs


def wait_identical(lab, timeout=300, namespaces=NAMESPACES):
    deadline = time.time() + timeout
    diffs = ["not compared yet"]
    while time.time() < deadline:
        try:
            diffs = differences(lab, namespaces)
        except (AssertionError, RuntimeError, ValueError) as exc:  # a tree changing under the walk
            diffs = [str(exc)]
        if not diffs:
            return
        time.sleep(3)
    pytest.fail("replicas still differ after %d s: %s" % (timeout, diffs))


def on_primary(lab, script):
    return lab["hosts"][lab["primary"]].check_output("python3 -c %s" % shlex.quote(script))


def sender_container(lab, timeout=90):
    """The running sender's container id. Swarm restarts a killed sender after its restart delay, so an
    earlier test's kill may leave a moment with none: wait for one rather than catch that moment."""
    deadline = time.time() + timeout
    while True:
        cid = lab["hosts"][lab["primary"]].check_output(
            "docker ps -q -f label=com.docker.swarm.service.name=swarmdata_sender")
        if cid or time.time() > deadline:
            break
        time.sleep(2)
    assert cid, "no running sender container on the primary after %d s" % timeout
    return cid.split()[0]


def in_sender(lab, command):
    return lab["hosts"][lab["primary"]].run("docker exec %s sh -c %s" % (sender_container(lab), shlex.quote(command)))


def test_create_modify_rename_delete_10k_files_and_200mb_converge(lab):
    on_primary(lab, r"""
import os, shutil
root = "/opt/swarmdata/namespaces"
for d in range(10):
    os.makedirs("%s/wiki/pages/%02d" % (root, d), exist_ok=True)
    for i in range(1000):
        with open("%s/wiki/pages/%02d/p%04d.md" % (root, d, i), "w") as f:
            f.write("page %d-%d\n" % (d, i) * (i % 7 + 1))
db = root + "/db"
open(db + "/a.txt", "w").write("first\n")
open(db + "/b.txt", "w").write("to be renamed\n")
open(db + "/gone.txt", "w").write("to be deleted\n")
os.makedirs(db + "/sub/deeper", exist_ok=True)
open(db + "/sub/deeper/x.bin", "wb").write(os.urandom(4096))
os.symlink("a.txt", db + "/link-to-a")
open(db + "/a.txt", "a").write("modified\n")
os.rename(db + "/b.txt", db + "/c.txt")
os.chmod(db + "/c.txt", 0o600)
os.chown(db + "/c.txt", 999, 999)
os.remove(db + "/gone.txt")
os.makedirs(db + "/olddir/inner", exist_ok=True)
open(db + "/olddir/inner/f", "w").write("x")
os.rename(db + "/olddir", db + "/newdir")
""")
    lab["hosts"][lab["primary"]].check_output(
        "dd if=/dev/urandom of=%s/media/big.bin bs=1M count=200 status=none" % ROOT)
    wait_identical(lab, timeout=420)
    for replica in lab["replicas"]:
        host = lab["hosts"][replica]
        assert not host.file(ROOT + "/db/gone.txt").exists
        assert not host.file(ROOT + "/db/b.txt").exists
        assert not host.file(ROOT + "/db/olddir").exists
        assert host.file(ROOT + "/db/c.txt").mode == 0o600
        assert host.file(ROOT + "/db/c.txt").uid == 999
        assert host.file(ROOT + "/db/link-to-a").is_symlink
        assert host.file(ROOT + "/media/big.bin").size == 200 * 1024 * 1024


def test_the_kept_ssh_connections_hold_no_namespace_busy(lab):
    """The sender keeps an SSH connection per receiver open after a transfer. rsync starts ssh inside the namespace
    directory; the kept process must not stay there, or the namespace's disk could not be unmounted."""
    on_primary(lab, "open('/opt/swarmdata/namespaces/wiki/kept-connection', 'w').write('x')")
    time.sleep(3)  # a batch (bind_delay 0.25 s) has run and left its connections open (ControlPersist 60 s)
    out = in_sender(lab, "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = ssh ] && "
                         "echo \"$(readlink $p/cwd) $(tr '\\0' ' ' < $p/cmdline)\"; done; true").stdout
    kept = [line for line in out.splitlines() if "[mux]" in line]
    assert kept, "no kept SSH connection in the sender: %s" % out
    busy = [line for line in out.splitlines() if line.startswith("/data")]
    assert not busy, busy


def test_a_file_being_written_ends_whole_on_every_replica_and_is_never_garbage(lab):
    """A 200 MB file written slowly (about 6 s) while other files in the namespace change.

    The sender syncs a file when it is created and again when it is closed, so a replica may show it at an
    intermediate size while the primary is still writing it (see docs/bind.md). What must hold: every
    size a replica shows is a size the file had on the primary (a prefix, never more, never shrinking),
    and once the writer has closed it, every replica ends with the whole file, byte for byte.
    """
    size = 200 * 1024 * 1024
    lab["hosts"][lab["primary"]].check_output(
        "nohup python3 -c %s >/dev/null 2>&1 &" % shlex.quote(r"""
import os, time
chunk = os.urandom(10 * 1024 * 1024)
with open("/opt/swarmdata/namespaces/media/growing.bin", "wb") as f:
    for i in range(20):
        f.write(chunk)
        f.flush()
        open("/opt/swarmdata/namespaces/media/tick-%02d" % i, "w").write("%d\n" % i)
        time.sleep(0.3)
"""))
    seen = dict((r, []) for r in lab["replicas"])
    deadline = time.time() + 240
    while time.time() < deadline:
        for replica in lab["replicas"]:
            f = lab["hosts"][replica].file(ROOT + "/media/growing.bin")
            if f.exists:
                seen[replica].append(f.size)
        if all(s and s[-1] == size for s in seen.values()):
            break
        time.sleep(0.25)
    for replica, sizes in seen.items():
        assert sizes and sizes[-1] == size, "%s never showed the whole file: %s" % (replica, sizes[-5:])
        assert all(s <= size for s in sizes), sizes  # never more than the primary had
        assert sizes == sorted(sizes), "%s went back to a shorter version: %s" % (replica, sizes)
    wait_identical(lab, namespaces=("media",))


def test_the_mover_key_cannot_open_a_shell_or_read(lab):
    replica_svc = "recv-" + lab["replicas"][0]
    # With the sender's own node and fence epoch, so what refuses below is rrsync's confinement, not the fence.
    fence = in_sender(lab, "echo $MOVER_NODE:$(python3 -c 'import json, os; "
                           "print(json.loads(os.environ[\"MOVER_FENCES\"])[\"wiki\"][\"epoch\"])')").stdout.strip()
    assert re.match(r"^\S+:\d+$", fence), fence
    ssh = ("ssh -i /run/secrets/mover_key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
           "-o UserKnownHostsFile=/etc/mover/known_hosts -o ConnectTimeout=5 -o SetEnv=MOVER_FENCE=" + fence)
    shell = in_sender(lab, "%s %s id" % (ssh, replica_svc))
    assert shell.rc != 0 and "uid=" not in shell.stdout, shell.stdout + shell.stderr
    tty = in_sender(lab, "%s -tt %s /bin/sh -c id" % (ssh, replica_svc))
    assert "uid=" not in tty.stdout
    read = in_sender(lab, "rm -rf /tmp/steal && rsync -a -e '%s' %s:wiki/ /tmp/steal/; echo rc=$?"
                     % (ssh, replica_svc))
    assert "rc=0" not in read.stdout, read.stdout + read.stderr
    escape = in_sender(lab, "echo x > /tmp/escape && rsync -e '%s' /tmp/escape %s:../escape; echo rc=$?"
                       % (ssh, replica_svc))
    assert "rc=0" not in escape.stdout
    assert not lab["hosts"][lab["replicas"][0]].file("/opt/swarmdata/escape").exists
    # The replica's host key is pinned: an unknown key is refused, not accepted on first use.
    unpinned = in_sender(lab, "%s -o UserKnownHostsFile=/dev/null %s true"
                         % (ssh.replace("-o UserKnownHostsFile=/etc/mover/known_hosts", ""), replica_svc))
    assert unpinned.rc != 0 and "Host key verification failed" in unpinned.stderr
    # Another key is refused outright, and there is no password login to fall back on.
    other = in_sender(lab, "rm -f /tmp/k /tmp/k.pub && ssh-keygen -q -t ed25519 -N '' -f /tmp/k && "
                           "%s -i /tmp/k %s true" % (ssh.replace("-i /run/secrets/mover_key", ""), replica_svc))
    assert other.rc != 0 and "Permission denied (publickey)" in other.stderr


def test_a_stopped_replica_catches_up_with_no_manual_step(lab):
    replica = lab["replicas"][-1]
    subprocess.run(["docker", "stop", replica], check=True, capture_output=True)
    try:
        on_primary(lab, r"""
import os
db = "/opt/swarmdata/namespaces/db"
os.makedirs(db + "/while-down", exist_ok=True)
for i in range(200):
    open(db + "/while-down/f%03d" % i, "w").write("written while a replica was down %d\n" % i)
os.remove(db + "/a.txt")
""")
        time.sleep(5)
    finally:
        subprocess.run(["docker", "start", replica], check=True, capture_output=True)
    wait_identical(lab, timeout=420)


def test_sender_restarted_mid_transfer_ends_identical(lab):
    lab["hosts"][lab["primary"]].check_output(
        "nohup python3 -c %s >/dev/null 2>&1 &" % shlex.quote(r"""
import os
d = "/opt/swarmdata/namespaces/media/burst"
os.makedirs(d, exist_ok=True)
for i in range(300):
    open("%s/b%03d" % (d, i), "wb").write(os.urandom(512 * 1024))
"""))
    time.sleep(1.5)
    lab["hosts"][lab["primary"]].check_output("docker kill %s" % sender_container(lab))
    wait_identical(lab, timeout=420)


def test_a_watch_queue_overflow_ends_in_a_full_resync(lab):
    """Provoke a real inotify overflow: a sender started while fs.inotify.max_queued_events is tiny (the
    limit is taken when an inotify instance is made, and it is the kernel's, shared with this machine;
    it is restored before the burst), then a burst of creates far beyond that queue."""
    primary = lab["hosts"][lab["primary"]]
    knob = "/proc/sys/fs/inotify/max_queued_events"
    original = primary.check_output("cat %s" % knob).strip()
    old_sender = sender_container(lab)
    try:
        primary.check_output("echo 16 > %s" % knob)
        primary.check_output("docker kill %s" % old_sender)
        deadline = time.time() + 120
        while time.time() < deadline:
            cid = primary.run("docker ps -q -f label=com.docker.swarm.service.name=swarmdata_sender").stdout.split()
            if cid and cid[0] != old_sender[:len(cid[0])]:
                break
            time.sleep(2)
        wait_identical(lab, timeout=300)  # the new sender's startup sync is done; it watches with a 16-event queue
    finally:
        primary.check_output("echo %s > %s" % (original, knob))
    small = sender_container(lab)
    on_primary(lab, r"""
import os
d = "/opt/swarmdata/namespaces/wiki/overflow"
os.makedirs(d, exist_ok=True)
for i in range(3000):
    open("%s/f%04d" % (d, i), "w").write("burst %d\n" % i)
""")
    wait_identical(lab, timeout=420)
    logs = primary.run("docker logs %s 2>&1" % small).stdout
    assert "OVERFLOW" in logs.upper(), logs[-2000:]  # the overflow really happened, and was healed
    assert lab["hosts"][lab["replicas"][0]].file(ROOT + "/wiki/overflow/f2999").exists


def test_drift_on_a_replica_is_repaired_by_the_periodic_reconcile(lab):
    replica = lab["hosts"][lab["replicas"][0]]
    replica.check_output("echo tampered > %s/db/c.txt && echo stray > %s/db/stray.txt" % (ROOT, ROOT))
    wait_identical(lab, timeout=180, namespaces=("db",))
    assert not replica.file(ROOT + "/db/stray.txt").exists


def test_status_table_and_metrics(lab):
    rc, out = run_playbook(playbook="playbooks/status.yml")
    assert rc == 0, out
    for replica in lab["replicas"]:
        for ns in NAMESPACES:
            # A row with a real date, whatever the stdout callback's quoting.
            assert re.search(r"%s\s+%s\s+20\d\d-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+" % (re.escape(replica), ns), out), \
                "no status row for %s/%s:\n%s" % (replica, ns, out)
    assert all(r["changed"] == 0 for r in recap(out).values())
    metrics = lab["hosts"][lab["primary"]].file("/opt/swarmdata/state/bind/metrics.prom").content_string
    for replica in lab["replicas"]:
        for ns in NAMESPACES:
            series = 'swarmdata_bind_last_success_timestamp_seconds{replica="%s",namespace="%s"}' % (replica, ns)
            assert series in metrics
