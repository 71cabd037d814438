"""Bind snapshots, failover, failback and a planned switchover on a real 3-node swarm (docs/failover.md).

The tests run in order and share the lab: -2 is the primary of namespace app, -1 (the manager) of docs.
Every check compares files by checksum (molecule/shared/helpers.py manifest); every wait is bounded.
"""

import json
import re
import shlex
import subprocess
import time

import pytest
import testinfra
from helpers import RUNNER, manifest, recap, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]  # each test drives the lab itself
ROOT = "/opt/swarmdata"
NS = ROOT + "/namespaces"
STATE = {}  # what one test leaves for the next (they run in file order)


@pytest.fixture(scope="module")
def lab(group_vars):
    hosts = RUNNER.get_hosts("all")
    manager, old, new = hosts[0], group_vars["replication_primary"], hosts[2]
    assert manager != old and new not in (manager, old)
    return {"manager": manager, "old": old, "new": new, "all": hosts,
            "h": dict((h, testinfra.get_host("docker://" + h)) for h in hosts)}


def moved(lab, primary):
    """The inventory change failover.yml asks for: namespace app's own primary (as -e replication_namespaces)."""
    return json.dumps({"replication_namespaces": [
        {"name": "app", "criticality": "critical", "snapshots": {"interval": 60, "keep": 2}, "primary": primary},
        {"name": "docs", "primary": lab["manager"]}]})


def tree(lab, host, path):
    return manifest(lab["h"][host], path)


def wait_same(lab, source, targets, ns, timeout=180):
    deadline, diffs = time.time() + timeout, ["not compared"]
    while time.time() < deadline:
        try:
            want = tree(lab, source, "%s/%s" % (NS, ns))
            diffs = [t for t in targets if tree(lab, t, "%s/%s" % (NS, ns)) != want]
        except (AssertionError, RuntimeError, ValueError) as exc:
            diffs = [str(exc)]
        if not diffs:
            return want
        time.sleep(2)
    pytest.fail("%s on %s still differs from %s after %d s" % (ns, diffs, source, timeout))


def write_files(lab, host, ns, prefix, count, size):
    lab["h"][host].check_output("python3 -c %s" % shlex.quote(
        "import os\nfor i in range(%d):\n  open('%s/%s/%s-%%d' %% i, 'wb').write(os.urandom(%d))"
        % (count, NS, ns, prefix, size)))


def snapshots_on(lab, host, ns):
    out = lab["h"][host].run("ls %s/snapshots/%s" % (ROOT, ns)).stdout.split()
    return sorted(n for n in out if re.match(r"^\d{8}T\d{6}Z", n))


def service_container(lab, host, service):
    out = lab["h"][host].check_output("docker ps -q -f label=com.docker.swarm.service.name=swarmdata_%s" % service)
    assert out, "no running %s container on %s" % (service, host)
    return out.split()[0]


def test_snapshots_taken_listed_and_retention_applied(lab):
    old = lab["old"]
    write_files(lab, old, "app", "base", 40, 512 * 1024)  # 20 MiB the delta resync will not have to send again
    want = wait_same(lab, old, [lab["manager"], lab["new"]], "app")
    for i in range(3):
        lab["h"][old].check_output("echo %d > %s/app/counter" % (i, NS))
        rc, out = run_playbook("-e", "namespace=app", playbook="playbooks/snapshot.yml")
        assert rc == 0, out[-3000:]
    for replica in (lab["manager"], lab["new"]):
        names = snapshots_on(lab, replica, "app")
        assert len(names) == 2, (replica, names)  # keep: 2, the oldest was removed
        latest = "%s/snapshots/app/%s" % (ROOT, names[-1])
        assert tree(lab, replica, latest) == tree(lab, old, NS + "/app"), "the latest snapshot is not the primary's"
        # consecutive snapshots share unchanged files as hard links, and never the live tree's inodes
        inode = "stat -c %%i %s/snapshots/app/%s/base-0"
        assert lab["h"][replica].check_output(inode % (ROOT, names[0])) == \
            lab["h"][replica].check_output(inode % (ROOT, names[1]))
        assert lab["h"][replica].check_output(inode % (ROOT, names[1])) != \
            lab["h"][replica].check_output("stat -c %%i %s/app/base-0" % NS)
        assert lab["h"][replica].check_output("stat -c %%a %s" % latest) == "555"
    rc, out = run_playbook("-e", "namespace=app", "-e", "action=list", playbook="playbooks/snapshot.yml")
    assert rc == 0 and snapshots_on(lab, lab["new"], "app")[-1] in out, out[-2000:]
    rc, out = run_playbook(playbook="playbooks/status.yml")
    assert rc == 0 and "latest snapshot" in out and "epoch" in out, out[-3000:]
    metrics = lab["h"][old].check_output("cat %s/state/bind/metrics.prom" % ROOT)
    assert 'swarmdata_snapshot_latest_timestamp_seconds{namespace="app",replica="%s"}' % lab["new"] in metrics
    assert 'swarmdata_fence_epoch{namespace="app",primary="%s"} 1' % old in metrics
    assert 'swarmdata_replication_out_of_sync{namespace="app",replica="%s"} 0' % lab["new"] in metrics
    assert want


def test_failover_with_the_primary_stopped_mid_writes(lab):
    old, new, manager = lab["old"], lab["new"], lab["manager"]
    # What the old primary's sender runs with, so the next test can start it again as it was.
    spec = json.loads(lab["h"][manager].check_output("docker service inspect swarmdata_sender"))[0]["Spec"]
    STATE["old_env"] = spec["TaskTemplate"]["ContainerSpec"]["Env"]
    STATE["image"] = spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0]
    STATE["key"] = lab["h"][old].check_output(
        "docker exec %s cat /run/secrets/mover_key" % service_container(lab, old, "sender"))
    lab["h"][old].run("nohup sh -c 'i=0; while true; do i=$((i+1)); echo $i > %s/app/live-$i; sleep 0.1; done' "
                      ">/dev/null 2>&1 &" % NS)
    time.sleep(3)
    rc, out = run_playbook("-e", "namespace=app", playbook="playbooks/snapshot.yml")
    assert rc == 0, out[-3000:]
    snap_tree = tree(lab, new, "%s/snapshots/app/%s" % (ROOT, snapshots_on(lab, new, "app")[-1]))
    deadline = time.time() + 30  # until writes made after the snapshot have reached the replica's live copy
    while time.time() < deadline and not set(tree(lab, new, NS + "/app")) - set(snap_tree):
        time.sleep(1)
    subprocess.run(["docker", "stop", "-t", "1", old], check=True, capture_output=True)  # mid-writes
    before = tree(lab, new, NS + "/app")  # the replica's live copy: the writes that reached it after the snapshot
    started = time.time()
    rc, out = run_playbook("-e", "namespace=app", "-e", "to=%s" % new, playbook="playbooks/failover.yml")
    STATE["failover_seconds"] = time.time() - started
    assert rc == 0, out[-4000:]
    assert "set 'primary: %s' on namespace app" % new in out, out[-2000:]
    print("failover of app to %s with %s stopped: %.1f s" % (new, old, STATE["failover_seconds"]))
    after = tree(lab, new, NS + "/app")
    # The latest snapshot when the failover ran (the schedule may have taken one after the test's own).
    promoted = re.search(r"promoted from: latest \((\d{8}T\d{6}Z(?:-\d+)?),", out).group(1)
    assert promoted >= snapshots_on(lab, new, "app")[0]
    assert after == tree(lab, new, "%s/snapshots/app/%s" % (ROOT, promoted)), "the copy is not its latest snapshot"
    assert before != after, "no write reached the replica after the snapshot: nothing was there to keep aside"
    aside = [d for d in lab["h"][new].check_output("ls %s/diverged/app" % ROOT).split() if d.endswith("-promote")]
    assert aside, "nothing moved aside although writes reached the replica after the snapshot"
    kept = tree(lab, new, "%s/diverged/app/%s" % (ROOT, aside[-1]))
    for path, entry in before.items():  # nothing is lost: each file is live as it was, or kept aside
        if entry[5] is None or path.startswith(".~tmp~"):
            continue
        assert (after.get(path) or [None] * 6)[5] == entry[5] or (kept.get(path) or [None] * 6)[5] == entry[5], path
    # The application writes on the new primary; the remaining replica gets it. docs (primary -1) goes on too.
    write_files(lab, new, "app", "after-failover", 5, 4096)
    write_files(lab, manager, "docs", "while-down", 5, 4096)
    wait_same(lab, new, [manager], "app")
    wait_same(lab, manager, [new], "docs")
    labels = json.loads(lab["h"][manager].check_output("docker node inspect %s" % new))[0]["Spec"]["Labels"]
    assert labels.get("swarmdata.primary.app") == "true"


def test_the_old_primary_back_with_its_sender_running_changes_nothing(lab):
    old, new, manager = lab["old"], lab["new"], lab["manager"]
    subprocess.run(["docker", "start", old], check=True, capture_output=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if lab["h"][old].run("docker info --format '{{.Swarm.LocalNodeState}}'").stdout.strip() == "active":
            break
        time.sleep(2)
    # A write only the old primary has (split brain), and a file it changed: failback must keep both.
    lab["h"][old].check_output("echo split-brain > %s/app/only-on-old && echo changed-on-old > %s/app/counter"
                               % (NS, NS))
    want = dict((h, tree(lab, h, NS + "/app")) for h in (new, manager))
    lab["h"][old].check_output("mkdir -p /tmp/fo-old && printf '%%s\\n' %s > /tmp/fo-old/mover_key && chmod 600 "
                               "/tmp/fo-old/mover_key" % shlex.quote(STATE["key"].strip()))
    env = " ".join("-e %s" % shlex.quote(e) for e in STATE["old_env"])
    run = ("docker run -d --name fo-old-sender --label swarmdata.test=failover --network swarmdata_mover "
           "-v %s:/data:ro -v /tmp/fo-old/state:/state -v /tmp/fo-old/mover_key:/run/secrets/mover_key:ro %s %s sender"
           % (NS, env, STATE["image"]))
    # Right after the node rejoins, its engine may not know the overlay yet ("network ... not found"): retry.
    deadline = time.time() + 90
    while True:
        started = lab["h"][old].run(run)
        if started.rc == 0:
            break
        lab["h"][old].run("docker rm -f fo-old-sender")
        assert time.time() < deadline, started.stderr
        time.sleep(3)
    try:
        time.sleep(20)  # its startup sync, live batches of the new files
        logs = lab["h"][old].run("docker logs fo-old-sender 2>&1").stdout
        for host in (new, manager):
            assert tree(lab, host, NS + "/app") == want[host], "the old primary's sender changed %s" % host
        recv = service_container(lab, manager, "recv-" + manager.lower())
        refused = lab["h"][manager].check_output("docker logs %s 2>&1 | grep -c 'REFUSED a push into namespace app' "
                                                 "|| true" % recv)
        assert int(refused or 0) > 0, logs[-2000:]
        print("old sender's pushes refused by the fence: %s times on %s" % (refused, manager))
    finally:
        lab["h"][old].run("docker rm -f fo-old-sender")


def test_site_yml_refuses_the_old_inventory_and_agrees_with_the_new_one(lab):
    rc, out = run_playbook()
    assert rc != 0 and "namespace app" in out and "failover.yml" in out, out[-3000:]
    rc, out = run_playbook("-e", moved(lab, lab["new"]))
    assert rc == 0, out[-4000:]
    changed = dict((h, r["changed"]) for h, r in recap(out).items())
    assert set(changed.values()) == {0}, changed


def test_failback_keeps_the_old_copys_own_files_and_resyncs_a_delta(lab):
    old, new = lab["old"], lab["new"]
    rc, out = run_playbook("-e", moved(lab, new), "-e", "namespace=app", playbook="playbooks/failback.yml")
    assert rc == 0, out[-4000:]
    final = wait_same(lab, new, [old, lab["manager"]], "app")
    stamps = [d for d in lab["h"][old].check_output("ls %s/diverged/app" % ROOT).split()
              if re.match(r"^\d{8}T\d{6}Z$", d)]
    assert stamps, "nothing kept aside on the old primary"
    kept = "%s/diverged/app/%s" % (ROOT, stamps[-1])
    assert lab["h"][old].check_output("cat %s/only-on-old" % kept) == "split-brain"
    assert lab["h"][old].check_output("cat %s/counter" % kept) == "changed-on-old"
    sent = int(re.search(r"resync: (\d+) bytes sent", out).group(1))
    total = sum(e[3] for e in final.values())
    print("failback delta resync: %d bytes sent for a namespace of %d bytes (%.2f%%)"
          % (sent, total, 100.0 * sent / total))
    assert sent < total / 4, (sent, total)


def test_planned_switchover_back_loses_no_acknowledged_write(lab):
    old, new, manager = lab["old"], lab["new"], lab["manager"]
    for h in lab["all"]:
        lab["h"][h].check_output("mkdir -p /tmp/fo-acks && rm -f /tmp/fo-acks/ack.log")
    writer = ("import os, socket, time\nd = '/data'\nme = socket.gethostname()\n"
              "i = max([int(n[4:]) for n in os.listdir(d) if n.startswith('seq-') and n[4:].isdigit()] or [0])\n"
              "while True:\n  i += 1\n  p = os.path.join(d, 'seq-%d' % i)\n"
              "  with open(p + '.tmp', 'w') as f:\n"
              "    f.write('%s %d\\n' % (me, i)); f.flush(); os.fsync(f.fileno())\n"
              "  os.rename(p + '.tmp', p)\n"
              "  with open('/acks/ack.log', 'a') as f:\n"
              "    f.write('%s %d\\n' % (me, i)); f.flush(); os.fsync(f.fileno())\n"
              "  time.sleep(0.05)\n")
    lab["h"][manager].check_output(
        "docker service create --detach --name fo-writer --label swarmdata.test=failover "
        "--constraint node.labels.swarmdata.primary.app==true --restart-condition any "
        "--mount type=bind,src=%s/app,dst=/data --mount type=bind,src=/tmp/fo-acks,dst=/acks "
        "--entrypoint python3 %s -c %s" % (NS, STATE["image"], shlex.quote(writer)))
    try:
        deadline = time.time() + 60
        while lab["h"][new].run("test -s /tmp/fo-acks/ack.log").rc != 0 and time.time() < deadline:
            time.sleep(1)
        time.sleep(3)
        # An application-consistent snapshot: the hook runs in the writer's container before the pass.
        hook = ["-e", moved(lab, new), "-e", "namespace=app", "-e", "quiesce_service=fo-writer"]
        # (as JSON: -e key=value would split the command at its spaces)
        rc, out = run_playbook(*hook + ["-e", json.dumps({"quiesce_command": "exit 3"})],
                               playbook="playbooks/snapshot.yml")
        assert rc != 0 and "quiesce" in out, out[-2000:]  # a failing hook fails the snapshot, loudly
        rc, out = run_playbook(*hook + ["-e", json.dumps({"quiesce_command": "echo flushed > /data/quiesced"})],
                               playbook="playbooks/snapshot.yml")
        assert rc == 0, out[-3000:]
        for replica in (old, manager):
            latest = "%s/snapshots/app/%s" % (ROOT, snapshots_on(lab, replica, "app")[-1])
            assert lab["h"][replica].check_output("cat %s/quiesced" % latest) == "flushed", replica
        started = time.time()
        rc, out = run_playbook("-e", moved(lab, new), "-e", "namespace=app", "-e", "to=%s" % old,
                               "-e", "planned=true", "-e", "service=fo-writer", playbook="playbooks/failover.yml")
        assert rc == 0, out[-4000:]
        print("planned switchover of app back to %s: %.1f s" % (old, time.time() - started))
        deadline = time.time() + 60
        while lab["h"][old].run("test -s /tmp/fo-acks/ack.log").rc != 0 and time.time() < deadline:
            time.sleep(1)
        time.sleep(2)
    finally:
        lab["h"][manager].run("docker service rm fo-writer")
    time.sleep(3)
    final = wait_same(lab, old, [new, manager], "app")
    acked = [line.split() for h in (new, old) for line in
             lab["h"][h].check_output("cat /tmp/fo-acks/ack.log").splitlines()]
    before = lab["h"][new].check_output("cat /tmp/fo-acks/ack.log").splitlines()
    assert before and lab["h"][old].check_output("cat /tmp/fo-acks/ack.log"), "the writer did not run on both nodes"
    content = dict((path, lab["h"][old].check_output("cat %s/app/%s" % (NS, path)))
                   for path in final if path.startswith("seq-") and not path.endswith(".tmp"))
    lost = ["%s %s" % (me, i) for me, i in acked if content.get("seq-" + i) != "%s %s" % (me, i)]
    print("planned switchover: %d writes acknowledged on %s before it, %d after on %s, %d lost"
          % (len(before), new, len(acked) - len(before), old, len(lost)))
    assert not lost, lost[:10]


def test_check_mode_changes_nothing_and_site_yml_agrees(lab):
    manager = lab["manager"]
    configs = lab["h"][manager].check_output("docker config ls --format '{{.Name}}' | sort")
    # As an AWX survey fills it (playbooks/awx_surveys/failover.json): without the name typed again, refused
    # before any host is touched; with it, the check run.
    survey = ["-e", "awx_job_id=7", "-e", "swarmdata_namespace=docs", "-e", "swarmdata_to=%s" % lab["new"],
              "-e", "swarmdata_from=live"]
    # (an answer left empty arrives as "": the playbook promotes the latest snapshot then)
    rc, out = run_playbook(*survey[:-2] + ["-e", json.dumps({"swarmdata_from": ""}), "-e", "swarmdata_confirm=doc"],
                           playbook="playbooks/failover.yml")
    assert rc != 0 and "swarmdata_confirm must repeat" in out and set(recap(out)) == {"localhost"}, out[-2000:]
    assert "(got latest;" in out, out[-2000:]
    rc, out = run_playbook("--check", *survey + ["-e", "swarmdata_confirm=docs"], playbook="playbooks/failover.yml")
    assert rc == 0, out[-4000:]
    assert lab["h"][manager].check_output("docker config ls --format '{{.Name}}' | sort") == configs
    labels = json.loads(lab["h"][manager].check_output("docker node inspect %s" % manager))[0]["Spec"]["Labels"]
    assert labels.get("swarmdata.primary.docs") == "true"
    rc, out = run_playbook()  # the inventory as it started: app is back on its own primary
    assert rc == 0, out[-4000:]
    changed = dict((h, r["changed"]) for h, r in recap(out).items())
    assert set(changed.values()) == {0}, changed


def test_pushes_of_namespaces_at_different_epochs_each_carry_their_own_claim(lab):
    """The manager's sender holds docs (its own, epoch 1) and app (failed over and back: a later epoch). It keeps an
    SSH connection per receiver and claim: OpenSSH sends a shared connection's own SetEnv with every session on it,
    so one connection for both would make app's pushes claim docs' epoch. A docs session opens its connection
    first, then an app push goes to the same receiver: the receiver's refusal (the manager is not app's primary)
    must name app's own epoch, the one the manager's sender was given."""
    manager = lab["manager"]
    sender = service_container(lab, manager, "sender-" + manager.lower())
    script = (
        "import json, os, shlex, subprocess, sys\n"
        "sys.path.insert(0, '/usr/local/lib/mover'); sys.argv = ['mover']\n"
        "import mover\n"
        "receiver = sorted(r for r, h in mover.replica_names().items() if h != os.environ['MOVER_NODE'])[0]\n"
        "out = {'epochs': dict((ns, mover.own_fence(ns)[0]) for ns in ('docs', 'app'))}\n"
        "for ns in ('docs', 'app'):\n"
        "    cmd = shlex.split(mover.rsh(ns)) + ['-n', receiver, 'rsync --server -n -logDtpre.iLsfxC . %s/' % ns]\n"
        "    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)\n"
        "    out[ns] = p.stderr.strip()\n"
        "out['connections'] = sorted(os.listdir(mover.SSH_CONTROL_DIR))\n"
        "print(json.dumps(out))\n")
    result = json.loads(lab["h"][manager].check_output(
        "docker exec %s python3 -c %s" % (sender, shlex.quote(script))).strip().splitlines()[-1])
    epochs = result["epochs"]
    assert epochs["docs"] == 1 and epochs["app"] > 1, result
    assert "is not the namespace's primary at epoch %d" % epochs["app"] in result["app"], result
    assert "carries fence epoch 1 " not in result["app"], result
    print("pushes from %s: docs at epoch %d, app at epoch %d, refused as: %s" % (
        manager, epochs["docs"], epochs["app"], result["app"]))
