"""The bind variant's data-safety guards on a real 3-node swarm (docs/data-safety.md), each fault made real:
an empty filesystem mounted over the primary's namespace, a typo'd primary, pushes racing to one replica,
setuid files and device nodes on the primary. Runs after test_bind.py (same lab)."""

import json
import shlex
import time

import pytest
import testinfra
from helpers import RUNNER, SWARM_HOSTS, assert_variant_change_refused, manifest, recap, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]
ROOT = "/opt/swarmdata/namespaces"
STATE = "/opt/swarmdata/state/bind"


@pytest.fixture(scope="module")
def lab(group_vars):
    primary = group_vars["replication_primary"]
    replicas = [h for h in RUNNER.get_hosts(SWARM_HOSTS) if h != primary]
    hosts = dict((h, testinfra.get_host("docker://" + h)) for h in [primary] + replicas)
    return {"primary": primary, "replicas": replicas, "hosts": hosts, "p": hosts[primary]}


def py(host, script):
    return host.check_output("python3 -c %s" % shlex.quote(script))


def sender(lab):
    cid = lab["p"].check_output("docker ps -q -f label=com.docker.swarm.service.name=swarmdata_sender")
    assert cid, "no running sender container on the primary"
    return cid.split()[0]


def wait_for(what, check, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last is True:
            return time.time()
        time.sleep(1)
    pytest.fail("%s: not within %d s (last: %s)" % (what, timeout, last))


def same_everywhere(lab, ns):
    want = manifest(lab["p"], "%s/%s" % (ROOT, ns))
    for replica in lab["replicas"]:
        have = manifest(lab["hosts"][replica], "%s/%s" % (ROOT, ns))
        if have != want:
            return "%s differs on %d paths" % (replica, len(set(want) ^ set(have)) + sum(
                1 for k in set(want) & set(have) if want[k] != have[k]))
    return True


def fill(lab, ns, count, tag):
    py(lab["p"], """
import os
for i in range(%d):
    with open("%s/%s/%s-%%04d.txt" %% i, "w") as f:
        f.write("%s %%d\\n" %% i * 50)
""" % (count, ROOT, ns, tag, tag))


def test_an_empty_filesystem_over_the_primarys_namespace_empties_no_replica(lab):
    ns = "media"
    fill(lab, ns, 300, "keep")
    wait_for("media replicated", lambda: same_everywhere(lab, ns), 120)
    before = dict((r, manifest(lab["hosts"][r], "%s/%s" % (ROOT, ns))) for r in lab["replicas"])
    assert all(".swarmdata-id" in m and len(m) >= 301 for m in before.values()), "marker or files missing"

    # What a data disk that did not mount looks like: an empty filesystem at the namespace's path.
    lab["p"].check_output("mount -t tmpfs -o size=16m swarmdata-test-empty %s/%s" % (ROOT, ns))
    try:
        lab["p"].check_output("docker rm -f %s" % sender(lab))  # the sender restarts on the empty copy
        rc, out = run_playbook()
        assert rc == 0, out[-3000:]
        # site.yml warns, and writes no fresh marker over the empty copy.
        assert "namespace media on %s: marker" % lab["primary"] in out, out[-3000:]
        assert not lab["p"].file("%s/%s/.swarmdata-id" % (ROOT, ns)).exists
        start = time.time()
        refusal = "REFUSED namespace media on %s" % lab["primary"]
        # The running sender's own log (docker service logs can hang on a task whose container was removed).
        wait_for("the refusal logged", lambda: refusal in lab["p"].check_output(
            "docker logs --tail 200 %s 2>&1" % sender(lab)), 60)
        # A live write elsewhere still replicates: only the empty namespace is refused.
        py(lab["p"], "open('%s/wiki/guard-live.txt', 'w').write('live\\n')" % ROOT)
        wait_for("wiki still replicates", lambda: all(lab["hosts"][r].file("%s/wiki/guard-live.txt" % ROOT).exists
                                                      for r in lab["replicas"]), 30)
        # Outlast a periodic reconcile (bind_reconcile_interval is 20 s in this scenario).
        time.sleep(max(0, 25 - (time.time() - start)))
        for r in lab["replicas"]:
            assert manifest(lab["hosts"][r], "%s/%s" % (ROOT, ns)) == before[r], "%s lost media files" % r
        prom = lab["p"].check_output("cat %s/metrics.prom" % STATE)
        assert 'swarmdata_namespace_refused{namespace="media",node="%s"} 1' % lab["primary"] in prom
        assert 'swarmdata_namespace_refused{namespace="wiki",node="%s"} 0' % lab["primary"] in prom
        rc, status = run_playbook(playbook="playbooks/status.yml")
        assert rc == 0 and "REFUSED" in status and "media" in status, status[-3000:]
    finally:
        lab["p"].run("umount %s/%s" % (ROOT, ns))
    # The data is back: the sender resumes by itself, and new writes replicate again.
    back = time.time()
    fill(lab, ns, 5, "after")
    wait_for("media resumed", lambda: same_everywhere(lab, ns), 90)
    print("media resumed %.1f s after the disk came back" % (time.time() - back))
    prom = lab["p"].check_output("cat %s/metrics.prom" % STATE)
    assert 'swarmdata_namespace_refused{namespace="media",node="%s"} 0' % lab["primary"] in prom


def test_a_primary_that_moved_in_the_inventory_is_refused_before_anything_changes(lab):
    labels = lab["p"].check_output("docker node inspect --format '{{json .Spec.Labels}}' $(docker node ls -q)")
    other = lab["replicas"][0]
    rc, out = run_playbook("-e", "replication_primary=%s" % other)
    assert rc != 0
    assert "replication_primary is %s" % other in out and "primary" in out and lab["primary"] in out, out[-2000:]
    assert set(recap(out)) <= {"localhost"}, "a lab host was reached: %s" % recap(out)
    assert lab["p"].check_output("docker node inspect --format '{{json .Spec.Labels}}' $(docker node ls -q)") == labels


def test_pushes_racing_to_one_replica_end_with_zero_errors(lab):
    def errors():
        out = py(lab["p"], """
import glob, json
print(json.dumps(dict((p, json.load(open(p)).get("errors_total", 0)) for p in glob.glob("%s/*/*.json"))))
""" % STATE)
        return json.loads(out)

    before = errors()
    # Live writes in every namespace at once, while full passes of every namespace run to every replica.
    cid = sender(lab)
    passes = " & ".join(
        "/usr/local/bin/mover-rsync -a --delete --numeric-ids --delay-updates -e \"$RSH\" /data/%s/ %s:%s/"
        % (ns, r, ns) for ns in ("wiki", "db", "media") for r in ["recv-" + h for h in lab["replicas"]])
    # The pushes carry the sender's node and fence epoch, as the sender's own do (docs/failover.md).
    rsh = ("ssh -i /run/secrets/mover_key -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes "
           "-o UserKnownHostsFile=/etc/mover/known_hosts -o BatchMode=yes -o SetEnv=MOVER_FENCE=$MOVER_NODE:$EPOCH")
    epoch = "python3 -c 'import json, os; print(json.loads(os.environ[\"MOVER_FENCES\"])[\"wiki\"][\"epoch\"])'"
    script = "rm -f /tmp/passes-done; EPOCH=$(%s); RSH=\"%s\"; %s & wait; touch /tmp/passes-done" % (
        epoch, rsh, passes)
    lab["p"].check_output("docker exec -d %s sh -c %s" % (cid, shlex.quote(script)))
    py(lab["p"], """
import threading, time
def writer(ns):
    for i in range(60):
        with open("%s/%%s/race-%%03d.txt" %% (ns, i), "w") as f:
            f.write("race %%d\\n" %% i)
        time.sleep(0.05)
ts = [threading.Thread(target=writer, args=(ns,)) for ns in ("wiki", "db", "media")]
[t.start() for t in ts]
[t.join() for t in ts]
""" % ROOT)
    wait_for("the full passes done", lambda: lab["p"].run("docker exec %s test -e /tmp/passes-done" % cid).rc == 0, 120)
    for ns in ("wiki", "db", "media"):
        wait_for("%s converged" % ns, lambda ns=ns: same_everywhere(lab, ns), 120)
    after = errors()
    assert after == before, "sync errors counted: before %s after %s" % (before, after)


def test_replicas_grow_no_setuid_file_and_no_device_node(lab):
    py(lab["p"], """
import os, stat
d = "%s/media/priv"
os.makedirs(d, exist_ok=True)
for name, mode in (("suid", 0o4755), ("sgid", 0o2755)):
    p = os.path.join(d, name)
    open(p, "w").write("#!/bin/sh\\n")
    os.chmod(p, mode)
os.mknod(os.path.join(d, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
os.mkfifo(os.path.join(d, "fifo"))
open(os.path.join(d, "done"), "w").write("x")
""" % ROOT)
    for r in lab["replicas"]:
        wait_for("priv/done on %s" % r, lambda r=r: lab["hosts"][r].file("%s/media/priv/done" % ROOT).exists, 60)
        modes = json.loads(py(lab["hosts"][r], """
import json, os
d = "%s/media/priv"
print(json.dumps(dict((n, os.lstat(os.path.join(d, n)).st_mode) for n in os.listdir(d))))
""" % ROOT))
        assert sorted(modes) == ["done", "sgid", "suid"], "%s has %s" % (r, sorted(modes))
        assert modes["suid"] & 0o7777 == 0o755 and modes["sgid"] & 0o7777 == 0o755, modes


@pytest.mark.parametrize("wanted", ["glusterfs", "p2p"])
def test_a_variant_change_with_data_in_place_is_refused_before_anything_changes(lab, wanted):
    assert_variant_change_refused(lab["hosts"], "bind", wanted)
