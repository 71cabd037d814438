"""Backups on the real lab (docs/backup.md): the repository server on the first node (the manager), a backup service per
namespace that backs up at once and then on its schedule, playbooks/backup.yml and playbooks/restore.yml with
Debian's restic, the append-only off-site copy on a fourth host outside the swarm, and the metrics as
node_exporter serves them. Files are really deleted and corrupted, then restored, and every file is checked by
checksum on every node. The restic passwords and the HTTP credentials never appear in any output."""

import calendar
import json
import re
import subprocess
import time

import pytest
from helpers import RUNNER, SWARM_HOSTS, manifest, recap, run_playbook, shlex_quote

STACK = "swarmdata-backup"


@pytest.fixture(scope="module")
def lab(group_vars):
    hosts = dict((name, RUNNER.get_host(name)) for name in RUNNER.get_hosts(SWARM_HOSTS))
    return {"root": group_vars["replication_root"], "hosts": hosts, "primary": hosts[group_vars["replication_primary"]],
            "manager": hosts[RUNNER.get_hosts("swarm_managers")[0]], "repo_host": group_vars["replication_backup_host"],
            "offsite": RUNNER.get_host(group_vars["replication_backup_offsite_host"])}


def task_node(lab, ns):
    return lab["manager"].check_output(
        "docker service ps --filter desired-state=running --format '{{.Node}}' %s_backup-%s" % (STACK, ns)).strip()


def service_log(lab, ns):
    return lab["manager"].check_output("docker service logs --raw %s_backup-%s" % (STACK, ns))


def metrics(host, lab, ns):
    """The main repository's metrics of ``ns`` as its service wrote them on ``host``."""
    text = host.run("cat %s/state/backup/%s.prom" % (lab["root"], ns)).stdout
    return dict(line.split("{", 1)[0:1] + [line.rsplit(" ", 1)[1]] for line in text.splitlines()
                if line.startswith("swarmdata_") and 'repository="offsite"' not in line)


def service_container(lab, ns, wait=0):
    """(the node's host, the container id) of the backup service of ``ns`` where Swarm runs it; looked for once, or
    for up to ``wait`` seconds (a service that just moved)."""
    host = lab["hosts"][task_node(lab, ns)]
    deadline = time.time() + wait
    while True:
        cid = host.run("docker ps -q --filter label=com.docker.swarm.service.name=%s_backup-%s" % (STACK, ns)
                       ).stdout.split()
        if cid or time.time() >= deadline:
            break
        time.sleep(1)
    assert cid, "no running container of %s_backup-%s on %s" % (STACK, ns, host.backend.name)
    return host, cid[0]


def in_service(lab, ns, command):
    """Run ``command`` (a shell line) in the backup service container of ``ns``; its output."""
    host, cid = service_container(lab, ns)
    return host.check_output("docker exec %s sh -c %s" % (cid, shlex_quote(command)))


def listing(lab, ns, offsite=False):
    return json.loads(in_service(lab, ns, "backup-runner snapshots" + (" --offsite" if offsite else "")))


def restic_time(text):
    """restic's RFC 3339 UTC time (nanoseconds) as a Unix timestamp."""
    base, _dot, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


# From inside a backup container: one HTTP request to a repository server, with the credentials of one of the
# container's Swarm secrets (backup_http: the main server's, backup_offsite_http: the off-site one's) or none; prints
# the status code.
HTTP_PROBE = r"""
import base64, os, sys, urllib.error, urllib.request
url, method, secret = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {}
if secret != "none":
    password = open("/run/secrets/" + secret).read().strip()
    headers["Authorization"] = "Basic " + base64.b64encode(("swarmdata:" + password).encode()).decode()
try:
    print(urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers), timeout=30).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


def http_status(lab, ns, url, method="GET", secret="backup_http"):
    return int(in_service(lab, ns, "python3 -c %s %s %s %s" % (
        shlex_quote(HTTP_PROBE), shlex_quote(url), method, secret or "none")).strip())


def data_manifests(lab, ns):
    return dict((name, manifest(h, "%s/namespaces/%s" % (lab["root"], ns))) for name, h in lab["hosts"].items())


def wait_replicated(lab, ns, timeout=60):
    deadline = time.time() + timeout
    while True:
        seen = data_manifests(lab, ns)
        want = seen[lab["primary"].backend.name]
        if all(m == want for m in seen.values()) or time.time() > deadline:
            return seen
        time.sleep(1)


def test_each_namespace_backed_up_by_its_service_where_the_plan_places_it(lab):
    """Every namespace's service took its first backup at start; wiki (bind, with snapshots) runs on a replica,
    never on the primary, and reads its newest snapshot; db, which has hooks, runs on its primary and reads the live
    copy right after them; the repositories are on the backup host."""
    for ns in ("wiki", "db"):
        node = task_node(lab, ns)
        assert node and (node == lab["primary"].backend.name) == (ns == "db"), (ns, node)
        deadline = time.time() + 150
        # Written by the service on its node, the newest backup read from the repository (also after a move).
        newest = "swarmdata_backup_last_success_timestamp_seconds"
        while float(metrics(lab["hosts"][node], lab, ns).get(newest, 0)) == 0:
            assert time.time() < deadline, service_log(lab, ns)
            time.sleep(3)
        m = metrics(lab["hosts"][node], lab, ns)
        assert float(m["swarmdata_backup_last_success_timestamp_seconds"]) > time.time() - 3600
        assert int(float(m["swarmdata_backup_snapshots"])) >= 1
        log = service_log(lab, ns)
        assert ('"source": "/snapshots/%s/' % ns if ns == "wiki" else '"source": "/sources/db"') in log, log
    repo = lab["hosts"][lab["repo_host"]]
    assert repo.file("%s/backup/wiki/config" % lab["root"]).exists
    assert repo.file("%s/backup/db/config" % lab["root"]).exists


def test_deleted_and_corrupted_files_restored_to_identical_checksums_on_every_node(lab):
    root, primary = lab["root"], lab["primary"]
    wiki = "%s/namespaces/wiki" % root
    primary.check_output(
        "mkdir -p %s/bk/sub && for i in $(seq 1 30); do head -c $((1000 + i * 37)) /dev/urandom > %s/bk/f$i.bin; done"
        " && head -c 2000000 /dev/urandom > %s/bk/sub/big.bin && ln -sfn f1.bin %s/bk/link" % (wiki, wiki, wiki, wiki))
    good = wait_replicated(lab, "wiki")
    root_meta = primary.check_output("stat -c '%%a %%u %%g' %s" % wiki)
    assert len(set(json.dumps(m, sort_keys=True) for m in good.values())) == 1

    rc, out = run_playbook("-e", "namespace=wiki", playbook="playbooks/backup.yml")
    # The run's result, as the YAML or the JSON callback prints it.
    assert rc == 0 and re.search(r"""["']?drill["']?: ["']?ok""", out), out[-3000:]

    # The faults: files deleted, one corrupted in place (same size), one added.
    primary.check_output("rm %s/bk/f3.bin %s/bk/f4.bin && rm -r %s/bk/sub" % (wiki, wiki, wiki))
    primary.check_output("printf 'XXXXXXXX' | dd of=%s/bk/f7.bin bs=1 seek=10 conv=notrunc 2>/dev/null" % wiki)
    primary.check_output("echo stray > %s/bk/added.txt" % wiki)
    damaged = wait_replicated(lab, "wiki")
    assert damaged != good

    # Check mode says what would change and changes nothing.
    rc, out = run_playbook("--check", "-e", "namespace=wiki", playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    for name in ("bk/f3.bin", "bk/sub/big.bin", "bk/f7.bin", "*deleting   bk/added.txt"):
        assert name in out, out[-3000:]
    assert data_manifests(lab, "wiki") == damaged

    # A partial restore brings back the chosen paths only.
    rc, out = run_playbook("-e", json.dumps({"namespace": "wiki", "paths": ["bk/f3.bin", "bk/sub"]}),
                           playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    partial = wait_replicated(lab, "wiki")[primary.backend.name]
    for rel in ("bk/f3.bin", "bk/sub", "bk/sub/big.bin"):
        assert partial[rel] == good[primary.backend.name][rel]
    assert "bk/f4.bin" not in partial and "bk/added.txt" in partial

    # Bit rot: a file corrupted with its size and mtime kept. Replication's quick check leaves the replicas' good
    # copy alone; the restore compares contents, so the primary's is restored too.
    primary.check_output("cd %s/bk && cp -p f9.bin /tmp/f9.ref && printf ROT | dd of=f9.bin bs=1 seek=5 conv=notrunc "
                         "2>/dev/null && touch -r /tmp/f9.ref f9.bin && rm /tmp/f9.ref" % wiki)
    assert manifest(primary, wiki)["bk/f9.bin"] != good[primary.backend.name]["bk/f9.bin"]

    # The whole restore: every file identical to the backup, on every node; what it replaced is kept aside.
    rc, out = run_playbook("-e", "namespace=wiki", playbook="playbooks/restore.yml")
    assert rc == 0 and recap(out)[primary.backend.name]["failed"] == 0, out[-3000:]
    restored = wait_replicated(lab, "wiki")
    assert restored == good, "restored tree differs"
    # The namespace directory itself keeps its owner and mode (a snapshot's root carries none).
    assert primary.check_output("stat -c '%%a %%u %%g' %s" % wiki) == root_meta
    kept = primary.check_output("find %s/state/backup/replaced/wiki -name added.txt -o -name f7.bin -o -name f9.bin"
                                % root)
    assert "added.txt" in kept and "f7.bin" in kept and "f9.bin" in kept, kept


def test_every_backup_is_copied_off_site_append_only_outside_the_swarm(lab):
    """The off-site host is no swarm member; its server (systemd, rclone, append-only) holds every snapshot of the
    main repositories (by restic's original ID) and refuses a delete made with the cluster's own credentials; the
    main server refuses a request without them. A file deleted on the primary comes back from the off-site copy
    (restore.yml -e repository=offsite), identical on every node."""
    offsite = lab["offsite"]
    assert offsite.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "inactive"
    assert offsite.check_output("systemctl is-active swarmdata-offsite.service") == "active"
    for ns in ("wiki", "db"):
        deadline = time.time() + 120
        while True:
            main_ids = set(s["id"] for s in listing(lab, ns))
            originals = [s.get("original") for s in listing(lab, ns, offsite=True)]
            if main_ids and main_ids <= set(originals) or time.time() > deadline:
                break
            time.sleep(3)
        assert main_ids and main_ids <= set(originals), (ns, main_ids, originals, service_log(lab, ns)[-2000:])
        assert offsite.file("%s/offsite/%s/config" % (lab["root"], ns)).exists
    base = in_service(lab, "wiki", "echo $BACKUP_OFFSITE_BASE").strip()[len("rest:"):]
    snapshot_file = offsite.check_output("ls %s/offsite/wiki/snapshots | head -n 1" % lab["root"])
    assert http_status(lab, "wiki", base + "wiki/snapshots/" + snapshot_file, "DELETE", "backup_offsite_http") == 403
    assert offsite.file("%s/offsite/wiki/snapshots/%s" % (lab["root"], snapshot_file)).exists
    assert http_status(lab, "wiki", base + "wiki/config", secret=None) == 401
    # The off-site server has credentials of its own: the main server's open nothing there.
    assert http_status(lab, "wiki", base + "wiki/config", secret="backup_http") == 401
    assert http_status(lab, "wiki", "http://repo:8000/wiki/config", secret=None) == 401
    assert http_status(lab, "wiki", "http://repo:8000/wiki/config") == 200

    wiki = "%s/namespaces/wiki" % lab["root"]
    lab["primary"].check_output("echo 'kept off-site' > %s/offsite-probe.txt" % wiki)
    good = wait_replicated(lab, "wiki")
    rc, out = run_playbook("-e", "namespace=wiki", playbook="playbooks/backup.yml")
    assert rc == 0 and re.search(r"""["']?offsite["']?: ["']?\d+ snapshots""", out), out[-3000:]
    lab["primary"].check_output("rm %s/offsite-probe.txt" % wiki)
    wait_replicated(lab, "wiki")
    rc, out = run_playbook("-e", json.dumps({"namespace": "wiki", "repository": "offsite",
                                             "paths": ["offsite-probe.txt"]}), playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    assert wait_replicated(lab, "wiki") == good


def test_a_restore_into_another_namespace_lands_there_behind_its_marker(lab):
    """restore.yml -e into=db: a path of wiki's newest backup is restored into namespace db (on db's primary, then
    replicated), behind db's own marker, which stays; wiki is not touched."""
    wiki_before = data_manifests(lab, "wiki")
    rc, out = run_playbook("-e", json.dumps({"namespace": "wiki", "into": "db", "paths": ["offsite-probe.txt"]}),
                           playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    db = wait_replicated(lab, "db")
    wiki = wiki_before[lab["primary"].backend.name]
    for name, tree in db.items():
        assert tree["offsite-probe.txt"] == wiki["offsite-probe.txt"], name
        assert tree[".swarmdata-id"] != wiki[".swarmdata-id"], name
    assert data_manifests(lab, "wiki") == wiki_before
    rc, out = run_playbook("-e", json.dumps({"namespace": "wiki", "into": "nosuch"}), playbook="playbooks/restore.yml")
    assert rc != 0 and "into, where set, must be one of them" in out, out[-2000:]


# The application namespace db's backup hooks run in (molecule/default/converge.yml starts it; the hooks are in
# molecule.yml: pre writes a dump, the service is scaled to 0 for the copy, post fails while /data/fail-post exists).
HOOKED_APP = "swarmdata-hooktest_app"


def app_task(manager):
    """(running task IDs, replicas wanted, the scaled-from label) of the hooked application service."""
    tasks = manager.check_output("docker service ps -q --filter desired-state=running %s" % HOOKED_APP).split()
    spec = json.loads(manager.check_output("docker service inspect --format '{{json .Spec}}' %s" % HOOKED_APP))
    return tasks, spec["Mode"]["Replicated"]["Replicas"], (spec.get("Labels") or {}).get(
        "swarmdata.backup-scaled-from")


def test_hooks_run_in_the_application_and_a_scaled_service_comes_back_also_when_a_hook_fails(lab):
    """Namespace db's hooks on the lab: pre writes a dump in the application's container (found by service name by
    the hook agents), the service is scaled to 0 for the copy and back to 1 after; the dump is in the backup (a
    restore brings it back). Then a post hook that fails fails the backup with its message, and the service is
    back at 1 all the same."""
    manager, ns_dir = lab["manager"], "%s/namespaces/db" % lab["root"]
    deadline = time.time() + 120
    while app_task(manager)[0] == [] and time.time() < deadline:
        time.sleep(2)
    lab["primary"].check_output("rm -f %s/app-stopped" % ns_dir)
    before = app_task(manager)
    assert len(before[0]) == 1 and before[1:] == (1, None), before
    rc, out = run_playbook("-e", "namespace=db", playbook="playbooks/backup.yml")
    assert rc == 0, out[-3000:]
    after = app_task(manager)
    # Back at 1 replica, in a new task (the old one was stopped at 0), and no scaled-from label left.
    assert len(after[0]) == 1 and after[0] != before[0] and after[1:] == (1, None), (before, after)
    # The run's report (backup.yml prints it) says what the hooks did.
    for done in ("pre hook ran in %s" % HOOKED_APP, "%s scaled from 1 to 0" % HOOKED_APP,
                 "%s scaled from 0 to 1" % HOOKED_APP, "post hook ran in %s" % HOOKED_APP):
        assert done in out, out[-3000:]
    # The backup holds pre's dump, and the file the application writes as it stops (3 s after it was told to): the
    # copy started once it had really stopped, not as soon as Swarm stopped wanting it.
    dump = lab["primary"].check_output("cat %s/hook-dump.txt %s/app-stopped" % (ns_dir, ns_dir))
    lab["primary"].check_output("rm %s/hook-dump.txt %s/app-stopped" % (ns_dir, ns_dir))
    rc, out = run_playbook("-e", json.dumps({"namespace": "db", "paths": ["hook-dump.txt", "app-stopped"]}),
                           playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    assert lab["primary"].check_output("cat %s/hook-dump.txt %s/app-stopped" % (ns_dir, ns_dir)) == dump

    # The post hook fails after the service was scaled down and up again: the backup fails, loudly, with its
    # message; the service runs its 1 replica.
    lab["primary"].check_output("touch %s/fail-post" % ns_dir)
    rc, out = run_playbook("-e", "namespace=db", playbook="playbooks/backup.yml")
    try:
        assert rc != 0 and "the post hook failed in %s" % HOOKED_APP in out and "fail-post is set" in out, \
            out[-3000:]
    finally:
        lab["primary"].check_output("rm -f %s/fail-post" % ns_dir)
    final = app_task(manager)
    assert len(final[0]) == 1 and final[1:] == (1, None), final


def test_the_metrics_reach_node_exporter_and_their_times_are_the_repositories(lab):
    """node_exporter (Debian's, on each lab node) serves what each backup service writes on its node; the newest
    backup it reports, per repository, is the newest snapshot in that repository; the text parses (promtool)."""
    for ns in ("wiki", "db"):
        node = lab["hosts"][task_node(lab, ns)]
        text = node.check_output("cat /var/lib/prometheus/node-exporter/swarmdata_backup_%s.prom" % ns)
        check = subprocess.run(["promtool", "check", "metrics"], input=text + "\n", capture_output=True, text=True,
                               timeout=60, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        served = node.check_output("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                                   "'http://127.0.0.1:9100/metrics', timeout=30).read().decode())\"")
        assert "node_textfile_scrape_error 0" in served
        for repository, offsite in (("main", False), ("offsite", True)):
            match = re.search(r'^swarmdata_backup_last_success_timestamp_seconds\{namespace="%s",repository="%s"\} '
                              r'(\S+)$' % (ns, repository), served, re.M)
            assert match, served[-3000:]
            newest = restic_time(listing(lab, ns, offsite=offsite)[-1]["time"])
            assert abs(float(match.group(1)) - newest) < 0.01, (ns, repository, match.group(1), newest)


def test_a_backup_service_whose_node_is_lost_moves_and_backs_up_on_another(lab):
    """The fault: the node wiki's backup service runs on (a replica) is stopped. Swarm runs the service on the
    other replica, which backs up from its own newest snapshot into the same repository; the stopped node comes back
    and rejoins."""
    lost = task_node(lab, "wiki")
    assert lost not in (lab["primary"].backend.name, lab["repo_host"]), lost  # a replica, not the repository host
    subprocess.run(["docker", "stop", "-t", "1", lost], check=True, capture_output=True, timeout=120)
    try:
        deadline = time.time() + 180
        moved = lost
        while moved in (lost, "") and time.time() < deadline:
            time.sleep(3)
            moved = task_node(lab, "wiki")
        assert moved not in (lost, "", lab["primary"].backend.name), moved
        # A run on the node it moved to (backup.yml would first snapshot every replica, the lost one too).
        host, cid = service_container(lab, "wiki", wait=60)
        assert host.backend.name == moved, (host.backend.name, moved)
        run = host.run("docker exec %s backup-runner backup" % cid)
        assert run.rc == 0, run.stdout + run.stderr
        report = json.loads(run.stdout)
        assert report["source"].startswith("/snapshots/wiki/") and report["drill"] == "ok", report
        # The repository's newest snapshot is the one it took there.
        assert listing(lab, "wiki")[-1]["id"].startswith(report["snapshot"]), (report, listing(lab, "wiki")[-1])
    finally:
        subprocess.run(["docker", "start", lost], check=True, capture_output=True, timeout=120)
        deadline = time.time() + 180
        while time.time() < deadline:
            states = lab["manager"].run("docker node ls --format '{{.Hostname}} {{.Status}}'").stdout.split("\n")
            if "%s Ready" % lost in states:
                break
            time.sleep(3)
    assert "%s Ready" % lost in states, states
    # Replication to it resumes (its receiver runs again): a probe written on the primary reaches it.
    probe = "%s/namespaces/db/node-loss-probe.txt" % lab["root"]
    lab["primary"].check_output("date > %s" % probe)
    deadline = time.time() + 180
    while not lab["hosts"][lost].file(probe).exists:
        assert time.time() < deadline, "replication to %s did not resume" % lost
        time.sleep(2)


def test_a_killed_backup_leaves_a_lock_that_does_not_block_the_next(lab):
    """The fault: a backup in wiki's service container is killed (SIGKILL, runner and restic) while restic holds a
    lock in the repository; the lock file is really left on the repository host. The next backup.yml removes that
    stale lock only, and succeeds."""
    repo = lab["hosts"][lab["repo_host"]]
    locks = "%s/backup/wiki/locks" % lab["root"]
    host, cid = service_container(lab, "wiki")

    def run_pids():
        """The on-demand run's runner and its restic processes, as the node sees the container's processes (the
        image has no ps); the service's own schedule loop (backup-runner serve) is left alone."""
        rows = [line.split(None, 1) for line in host.check_output("docker top %s -eo pid,args" % cid).splitlines()[1:]]
        runner = [pid for pid, args in rows if args.rstrip().endswith("backup_runner.py backup")]
        restic = [pid for pid, args in rows if args.split()[0].rsplit("/", 1)[-1] == "restic"]
        return runner, restic

    left = []
    for _attempt in range(5):  # the kill may fall between two restic commands, which leaves no lock: try again
        host.check_output("docker exec -d %s backup-runner backup" % cid)
        deadline = time.time() + 60
        # Until one of its restic commands holds a lock in the repository (restic makes it after opening the
        # repository, so a kill as the process appears would come too early).
        while not repo.run("ls %s" % locks).stdout.split():
            assert time.time() < deadline, "no restic command of the run took a lock"
            time.sleep(0.05)
        runner, restic = run_pids()
        host.run("kill -KILL %s" % " ".join(runner + restic))  # at once: an orphaned restic would finish cleanly
        left = repo.check_output("ls %s" % locks).split()
        if left:
            break
        time.sleep(2)
    assert left, "no lock was left by the killed backup"
    rc, out = run_playbook("-e", "namespace=wiki", playbook="playbooks/backup.yml")
    assert rc == 0 and re.search(r"""["']?drill["']?: ["']?ok""", out), out[-3000:]
    assert not set(left) & set(repo.check_output("ls %s" % locks).split())


def kept_by_policy(snapshots, policy):
    """The ids restic forget keeps of one group of snapshots under the policy's keep counts: the newest keep_last,
    and the newest of each of the newest keep_hourly hours, keep_daily days, keep_weekly ISO weeks and keep_monthly
    months (restic's rule, in the snapshots' UTC times)."""
    ordered = sorted(snapshots, key=lambda snap: restic_time(snap["time"]), reverse=True)
    keep = set(snap["original"] for snap in ordered[:policy.get("keep_last") or 0])
    buckets = {"keep_hourly": "%Y-%m-%d %H", "keep_daily": "%Y-%m-%d", "keep_weekly": "%G-%V", "keep_monthly": "%Y-%m"}
    for key, fmt in buckets.items():
        seen = []
        for snap in ordered:
            bucket = time.strftime(fmt, time.gmtime(restic_time(snap["time"])))
            if seen and seen[-1] == bucket:
                continue
            if len(seen) == (policy.get(key) or 0):
                break
            seen.append(bucket)
            keep.add(snap["original"])
    return keep


def test_retention_keeps_what_the_policy_says_and_the_off_site_copy_keeps_all(lab):
    """wiki's policy (the service's own, from its criticality) prunes the main repository after each run; the
    append-only off-site copy keeps every snapshot ever taken, so it shows what was pruned. Backups are added until
    some must have been."""
    policy = json.loads(in_service(lab, "wiki", "echo \"$BACKUP_POLICY\""))
    assert policy.get("keep_last"), policy  # wiki's criticality (high) keeps the newest few: some must go
    in_service(lab, "wiki", "backup-runner backup")  # this test's own run, whatever the earlier tests left
    for _run in range(policy["keep_last"] + 2):
        if len(listing(lab, "wiki", offsite=True)) >= policy["keep_last"] + 2:
            break
        in_service(lab, "wiki", "backup-runner backup")
    main = set(snap["id"] for snap in listing(lab, "wiki"))
    every = listing(lab, "wiki", offsite=True)
    assert main <= set(snap["original"] for snap in every), (main, every)
    assert main == kept_by_policy(every, policy), (policy, main, every)
    assert len(main) < len(every)


def test_a_restore_onto_an_unmounted_disk_is_refused_and_writes_nothing(lab):
    """The restore's guard: an empty filesystem over the primary's namespace (a data disk that did not mount) is
    never restored onto; the replicas keep every file."""
    wiki = "%s/namespaces/wiki" % lab["root"]
    before = data_manifests(lab, "wiki")
    lab["primary"].check_output("mount -t tmpfs -o size=16m swarmdata-test-empty %s" % wiki)
    try:
        rc, out = run_playbook("-e", "namespace=wiki", playbook="playbooks/restore.yml")
        assert rc != 0 and "has no marker" in out and "Nothing was restored" in out, out[-3000:]
        assert lab["primary"].check_output("ls -A %s" % wiki) == ""
    finally:
        lab["primary"].run("umount %s" % wiki)
    assert data_manifests(lab, "wiki") == before
    # The sender restarts when a namespace changes state (docs/data-safety.md); wait until it replicates again.
    probe = "%s/namespaces/db/restore-guard-probe.txt" % lab["root"]
    lab["primary"].check_output("date > %s" % probe)
    deadline = time.time() + 120
    while not all(h.file(probe).exists for h in lab["hosts"].values()):
        assert time.time() < deadline, "replication did not resume after the disk came back"
        time.sleep(1)


def test_the_restic_passwords_never_appear_in_output(lab):
    host, cid = service_container(lab, "db")
    password = host.check_output("docker exec %s cat /run/secrets/restic_password" % cid).strip()
    http = host.check_output("docker exec %s cat /run/secrets/backup_http" % cid).strip()
    offsite_http = host.check_output("docker exec %s cat /run/secrets/backup_offsite_http" % cid).strip()
    assert len(password) == 64 and len(http) == 64 and len(offsite_http) == 64 and http != offsite_http
    htpasswd = lab["offsite"].check_output("cat /etc/swarmdata/offsite.htpasswd").split("{SHA}")[1]
    rc, out = run_playbook("-vvv", "-e", "namespace=db", playbook="playbooks/backup.yml")
    assert rc == 0, out[-3000:]
    rc2, out2 = run_playbook("-vvv", "--check", "-e", "namespace=db", playbook="playbooks/restore.yml")
    assert rc2 == 0, out2[-3000:]
    for secret in (password, http, offsite_http, htpasswd):
        leaked = secret in out or secret in out2
        assert not leaked, "a secret is in the output"  # the secret itself is never printed


def test_status_shows_each_namespaces_newest_backup_and_its_state(lab):
    rc, out = run_playbook(playbook="playbooks/status.yml")
    assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out[-3000:]
    # The backup table's row (namespace, node, newest backup, age, state), as either callback prints it.
    for ns in ("wiki", "db"):
        row = r"\b%s\s+%s\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\S+\s+ok\s" % (ns, re.escape(task_node(lab, ns)))
        assert re.search(row, out), out[-3000:]
