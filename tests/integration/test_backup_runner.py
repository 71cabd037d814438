"""The backup runner (roles/backup/files/runner/backup_runner.py) with the real restic (Debian's package, which
scripts/setup.sh installs) against a real repository in a temporary directory. Faults really happen: a backup
killed mid-run leaves its lock, a pack file is corrupted, the namespace's disk is "unmounted"; every restore is
checked file by file by checksum."""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
RUNNER = os.path.join(ROOT, "roles", "backup", "files", "runner", "backup_runner.py")
IDENTITY = "8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11"
POLICY = {"interval": 3600, "keep_last": 3, "keep_hourly": 0, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0,
          "max_age": 7200}


# Debian trixie's restic (0.18, newer features: exit codes 10 and 12 for no repository and a wrong password), which
# scripts/setup.sh fetches beside bookworm's (0.14, on the PATH): the tests marked with it run with both.
TRIXIE_RESTIC = os.path.join(ROOT, ".cache", "restic-trixie", "usr", "bin")
BOTH_RESTICS = pytest.mark.parametrize("lab", ["bookworm", "trixie"], indirect=True)


@pytest.fixture
def lab(tmp_path, request):
    """A namespace with files (and its marker), a repository and its password file, the runner's state dir; restic
    from Debian bookworm (the default) or trixie (param)."""
    source = tmp_path / "namespaces" / "wiki"
    (source / "pages" / "deep").mkdir(parents=True)
    (source / ".swarmdata-id").write_text(IDENTITY + "\n")
    for i in range(20):
        (source / "pages" / ("p%02d.txt" % i)).write_bytes(os.urandom(2000 + 97 * i))
    (source / "pages" / "deep" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    os.symlink("pages/p00.txt", str(source / "link"))
    password = tmp_path / "password"
    password.write_text("correct horse battery staple\n")
    password.chmod(0o600)
    # TMPDIR of its own: the runner's run lock (one per namespace, in the temporary directory: per container in the
    # cluster) must not meet another test run's on this machine.
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, RESTIC_REPOSITORY=str(tmp_path / "repo"), RESTIC_PASSWORD_FILE=str(password),
               RESTIC_CACHE_DIR=str(tmp_path / "cache"), TMPDIR=str(tmp_path / "tmp"), BACKUP_PROBE_SECONDS="15")
    if getattr(request, "param", "bookworm") == "trixie":
        assert os.access(os.path.join(TRIXIE_RESTIC, "restic"), os.X_OK), "scripts/setup.sh fetches trixie's restic"
        env["PATH"] = TRIXIE_RESTIC + os.pathsep + env["PATH"]
        version = subprocess.run(["restic", "version"], env=env, capture_output=True, text=True, check=True).stdout
        assert version.startswith("restic 0.18"), version
    return {"source": source, "state": tmp_path / "state", "env": env, "tmp": tmp_path}


def runner(lab, *args, check=True):
    proc = subprocess.run([sys.executable, RUNNER] + list(args), env=lab["env"], capture_output=True, text=True,
                          timeout=300, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def backup(lab, check=True, policy=None):
    return runner(lab, "backup", "--namespace", "wiki", "--source", str(lab["source"]), "--state", str(lab["state"]),
                  "--policy", json.dumps(policy or POLICY), "--marker", ".swarmdata-id", "--identity", IDENTITY,
                  check=check)


def restic(lab, *args):
    return subprocess.run(["restic"] + list(args), env=lab["env"], capture_output=True, text=True, timeout=300,
                          check=False)


def tree(path):
    """{relative path: sha256 of a file, the target of a symlink, or 'dir'} for every entry under path."""
    out = {}
    for base, dirs, files in os.walk(str(path)):
        for name in dirs + files:
            full = os.path.join(base, name)
            rel = os.path.relpath(full, str(path))
            if os.path.islink(full):
                out[rel] = "-> " + os.readlink(full)
            elif os.path.isdir(full):
                out[rel] = "dir"
            else:
                with open(full, "rb") as handle:
                    out[rel] = hashlib.sha256(handle.read()).hexdigest()
    return out


def metric(lab, name, repository="main"):
    text = (lab["state"] / "wiki.prom").read_text()
    return float(re.search(r'^%s\{namespace="wiki"(,repository="%s")?\} (\S+)$' % (name, repository), text,
                           re.M).group(2))


@BOTH_RESTICS
def test_a_backup_restores_to_identical_checksums_whole_and_by_path(lab):
    before = tree(lab["source"])
    out = json.loads(backup(lab).stdout)
    assert out["drill"] == "ok" and out["check"] == "1/10"
    assert out["bytes_added"] > 3 * 1024 * 1024
    # The run's seconds, as the state file keeps them for the duration metric.
    assert out["seconds"] == round(json.loads((lab["state"] / "wiki.json").read_text())["duration"], 2) > 0
    # Deleted and corrupted, then restored whole: every file identical, the replaced ones kept aside.
    (lab["source"] / "pages" / "p03.txt").unlink()
    (lab["source"] / "pages" / "deep" / "big.bin").write_bytes(b"corrupted")
    (lab["source"] / "stray.txt").write_text("written after the backup")
    restored = json.loads(runner(lab, "restore", "--namespace", "wiki", "--target", str(lab["source"]),
                                 "--state", str(lab["state"])).stdout)
    assert tree(lab["source"]) == before
    aside = restored["replaced_kept_in"]
    assert open(os.path.join(aside, "pages", "deep", "big.bin"), "rb").read() == b"corrupted"
    assert open(os.path.join(aside, "stray.txt")).read() == "written after the backup"
    # Chosen paths only: the file and the directory named come back, nothing else is touched.
    (lab["source"] / "pages" / "p05.txt").write_text("damaged")
    (lab["source"] / "pages" / "deep" / "big.bin").unlink()
    (lab["source"] / "untouched.txt").write_text("not in the backup, not in the paths")
    (lab["source"] / "pages" / "deep" / "added.txt").write_text("not in the backup, inside a path restored")
    partial = json.loads(runner(lab, "restore", "--namespace", "wiki", "--target", str(lab["source"]),
                                "--state", str(lab["state"]), "--path", "pages/p05.txt", "--path", "pages/deep").stdout)
    after = tree(lab["source"])
    assert after.pop("untouched.txt") and after == before
    # What the restore replaced or deleted is kept under its own path.
    kept = partial["replaced_kept_in"]
    assert open(os.path.join(kept, "pages", "p05.txt")).read() == "damaged"
    assert open(os.path.join(kept, "pages", "deep", "added.txt")).read().startswith("not in the backup")
    bad = runner(lab, "restore", "--namespace", "wiki", "--target", str(lab["source"]), "--state", str(lab["state"]),
                 "--path", "../escape", check=False)
    assert bad.returncode == 1 and "a path inside the namespace is needed" in bad.stderr


def test_restore_by_snapshot_id_and_by_time(lab):
    backup(lab)
    first = dict(tree(lab["source"]))
    time.sleep(1.5)
    cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.5)
    (lab["source"] / "pages" / "p01.txt").write_text("second version")
    second = json.loads(backup(lab).stdout)["snapshot"]
    target = lab["tmp"] / "restored"
    runner(lab, "restore", "--namespace", "wiki", "--target", str(target), "--state", str(lab["state"]),
           "--snapshot", cut)
    assert tree(target) == first
    runner(lab, "restore", "--namespace", "wiki", "--target", str(target), "--state", str(lab["state"]),
           "--snapshot", second)
    assert (target / "pages" / "p01.txt").read_text() == "second version"
    bad = runner(lab, "restore", "--namespace", "wiki", "--target", str(target), "--state", str(lab["state"]),
                 "--snapshot", "2001-01-01T00:00:00Z", check=False)
    assert bad.returncode == 1 and "no snapshot at or before" in bad.stderr


def test_retention_follows_the_policy(lab):
    for _round in range(3):
        backup(lab, policy=dict(POLICY, keep_last=2))
    snaps = json.loads(restic(lab, "snapshots", "--json").stdout)
    assert len(snaps) == 2 and [s["tags"] for s in snaps] == [["ns:wiki", "run:%d" % n] for n in (2, 3)]
    assert metric(lab, "swarmdata_backup_snapshots") == 2


def test_a_killed_backup_leaves_a_stale_lock_that_the_next_run_removes_but_a_live_one_is_never_touched(lab):
    backup(lab)
    # A backup that holds the repository's lock: restic reading stdin from a pipe that stays open.
    live = subprocess.Popen(["restic", "backup", "--stdin", "--stdin-filename", "held", "--tag", "ns:other"],
                            env=lab["env"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not restic(lab, "list", "locks", "--no-lock").stdout.strip():
            time.sleep(0.2)
        assert restic(lab, "list", "locks", "--no-lock").stdout.strip(), "the live backup never took its lock"
        # Never two at once: the live lock stays, and this run stops before it makes a snapshot, naming the holder.
        beside = backup(lab, check=False)
        assert beside.returncode == 1 and "locked by a run that is still alive (pid %d" % live.pid in beside.stderr
        assert restic(lab, "list", "locks", "--no-lock").stdout.strip()
        assert len(json.loads(restic(lab, "snapshots", "--json", "--tag", "ns:wiki").stdout)) == 1
        assert metric(lab, "swarmdata_backup_last_status") == 0
        # Killed mid-run: its lock stays behind, stale.
        live.send_signal(signal.SIGKILL)
        live.wait(10)
    finally:
        if live.poll() is None:
            live.kill()
    assert restic(lab, "list", "locks", "--no-lock").stdout.strip()
    backup(lab)
    assert metric(lab, "swarmdata_backup_last_status") == 1


def test_a_corrupted_pack_fails_the_run_loudly(lab):
    backup(lab)
    packs = [p for p in (lab["tmp"] / "repo" / "data").rglob("*") if p.is_file()]
    biggest = max(packs, key=lambda p: p.stat().st_size)
    data = bytearray(biggest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    biggest.chmod(0o644)
    biggest.write_bytes(bytes(data))
    # The checked part steps once per run, so the corrupted pack's part comes round within ten runs; that run
    # fails, naming the check, and reports a failed status.
    parts, failed = [], None
    for _round in range(10):
        run = backup(lab, check=False)
        if run.returncode != 0:
            failed = run
            break
        parts.append(json.loads(run.stdout)["check"])
    assert failed is not None, "no run read the corrupted pack (parts checked: %s)" % parts
    assert "restic check failed" in failed.stderr
    assert metric(lab, "swarmdata_backup_last_status") == 0
    assert len(set(parts)) == len(parts)  # each run checked another part


def test_an_unmounted_namespace_is_never_backed_up(lab):
    backup(lab)
    count = metric(lab, "swarmdata_backup_snapshots")
    # The disk is "unmounted": the namespace directory is empty, its marker gone with its data.
    for entry in list(lab["source"].iterdir()):
        subprocess.run(["rm", "-rf", str(entry)], check=True)
    run = backup(lab, check=False)
    assert run.returncode == 1 and "has no marker" in run.stderr
    assert len(json.loads(restic(lab, "snapshots", "--json").stdout)) == count
    assert metric(lab, "swarmdata_backup_last_status") == 0


@BOTH_RESTICS
def test_a_wrong_password_fails_and_never_re_initialises(lab):
    backup(lab)
    config = (lab["tmp"] / "repo" / "config").read_bytes()
    (lab["tmp"] / "password").write_text("not the password\n")
    run = backup(lab, check=False)
    assert run.returncode == 1 and "password does not open it" in run.stderr
    assert (lab["tmp"] / "repo" / "config").read_bytes() == config


def test_the_last_success_comes_from_the_repository_after_a_restart(lab):
    backup(lab)
    newest = json.loads(restic(lab, "snapshots", "--json").stdout)[-1]
    first = metric(lab, "swarmdata_backup_last_success_timestamp_seconds")
    assert abs(first - time.time()) < 120
    # A new container: its state directory is gone, the repository is not.
    subprocess.run(["rm", "-rf", str(lab["state"])], check=True)
    lab["state"].mkdir()
    runner(lab, "metrics", "--namespace", "wiki", "--state", str(lab["state"]), "--policy", json.dumps(POLICY))
    assert metric(lab, "swarmdata_backup_last_success_timestamp_seconds") == first
    assert metric(lab, "swarmdata_backup_snapshots") == 1 and metric(lab, "swarmdata_backup_max_age_seconds") == 7200
    assert newest["time"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(first)))


def test_a_snapshot_without_the_marker_is_forgotten_and_fails_the_run(lab, monkeypatch):
    """The source changed while restic read it (an empty filesystem mounted over it after the check): replayed by
    a restic that backs up an empty directory instead of the source. The snapshot goes, older ones stay."""
    backup(lab)
    good = json.loads(restic(lab, "snapshots", "--json").stdout)
    empty = lab["source"].parent / "empty-over-wiki"  # beside the source, as a mount over it would be
    empty.mkdir()
    shim = lab["tmp"] / "bin"
    shim.mkdir()
    real = subprocess.run(["sh", "-c", "command -v restic"], capture_output=True, text=True, check=True).stdout.strip()
    (shim / "restic").write_text('#!/bin/sh\nif [ "$1" = backup ]; then cd %s || exit 1; fi\nexec %s "$@"\n'
                                 % (empty, real))
    (shim / "restic").chmod(0o755)
    lab["env"] = dict(lab["env"], PATH="%s:%s" % (shim, lab["env"]["PATH"]))
    run = backup(lab, check=False)
    assert run.returncode == 1 and "does not hold the namespace's marker" in run.stderr
    assert json.loads(restic(lab, "snapshots", "--json").stdout) == good
    assert metric(lab, "swarmdata_backup_last_status") == 0


def test_the_service_form_env_options_newest_snapshot_schedule_and_a_dry_run_restore(lab):
    """As the backup service runs it: every option from BACKUP_*, a bind replica's newest snapshot as the source,
    serve backing up at once; a stale snapshot fails loudly; then a restore refuses a target without the marker,
    a dry run lists the change and changes nothing, and a restore keeps the target's own owner and mode."""
    snaps = lab["tmp"] / "snapshots" / "wiki"
    snaps.mkdir(parents=True)
    now = time.time()
    names = [time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - age)) for age in (120, 60)]
    for name, extra in zip(names, (b"old", b"newest"), strict=True):
        shutil.copytree(str(lab["source"]), str(snaps / name), symlinks=True)
        (snaps / name / "which").write_bytes(extra)
    (snaps / "not-a-snapshot").mkdir()
    env = dict(lab["env"], BACKUP_NAMESPACE="wiki", BACKUP_SOURCE=str(lab["source"]), BACKUP_SNAPSHOTS=str(snaps),
               BACKUP_STATE=str(lab["state"]), BACKUP_POLICY=json.dumps(POLICY), BACKUP_MARKER=".swarmdata-id",
               BACKUP_IDENTITY=IDENTITY)
    lab_env = dict(lab, env=env)
    serve = subprocess.Popen([sys.executable, RUNNER, "serve"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if (lab["state"] / "wiki.prom").exists() and metric(lab, "swarmdata_backup_last_status") == 1:
                break
            time.sleep(1)
        assert metric(lab, "swarmdata_backup_last_status") == 1, "serve took no backup within 120 s"
    finally:
        serve.terminate()
        out = serve.communicate(timeout=30)[0]
    assert "serving namespace wiki, every 3600 s" in out
    snap_json = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    assert snap_json["source"] == str(snaps / names[-1])

    # A replica whose newest snapshot is older than max_age (its replication stopped) is never backed up.
    stale = lab["tmp"] / "stale" / "wiki"
    shutil.copytree(str(snaps / names[-1]), str(stale / "20200101T000000Z"), symlinks=True)
    failed = runner(dict(lab, env=dict(env, BACKUP_SNAPSHOTS=str(stale))), "backup", check=False)
    assert failed.returncode == 1 and "more than the policy's max_age" in failed.stderr, failed.stderr

    # The restore: a target without the namespace's marker (an unmounted disk) is refused and left as it was.
    target = lab["tmp"] / "target"
    target.mkdir(mode=0o750)
    (target / "which").write_bytes(b"live")
    refused = runner(lab_env, "restore", "--target", str(target), check=False)
    assert refused.returncode == 1 and "Nothing was restored" in refused.stderr, refused.stderr
    assert sorted(os.listdir(str(target))) == ["which"]
    (target / ".swarmdata-id").write_text(IDENTITY + "\n")
    os.chmod(str(target), 0o750)
    # The dry run lists the change, creates no directory, and changes nothing.
    dry = json.loads(runner(lab_env, "restore", "--target", str(target), "--path", "which", "--path",
                            "pages/deep/big.bin", "--dry-run").stdout)
    assert dry["dry_run"] is True and any(line.endswith("which") for line in dry["changes"]), dry
    assert any(line.startswith("+ pages/deep/big.bin") for line in dry["changes"]), dry
    assert (target / "which").read_bytes() == b"live" and not (target / "pages").exists()
    assert dry["replaced_kept_in"] is None
    # The whole restore: the snapshot's tree, the target's own mode kept.
    runner(lab_env, "restore", "--target", str(target))
    assert (target / "which").read_bytes() == b"newest"
    assert oct(os.stat(str(target)).st_mode & 0o777) == oct(0o750)
    want = tree(snaps / names[-1])
    assert tree(target) == want


def test_a_restore_into_another_namespace_checks_that_ones_marker_and_keeps_it(lab):
    """--into: wiki's backup restored into the directory of another namespace (a new one, with its own identity):
    refused where that directory's marker is not the identity given, then restored with its own marker kept, and
    what it replaced kept aside under its own name."""
    backup(lab)
    other = lab["tmp"] / "namespaces" / "wiki2"
    other.mkdir()
    (other / ".swarmdata-id").write_text("other-identity\n")
    (other / "old.txt").write_text("was here")
    args = ["restore", "--namespace", "wiki", "--target", str(other), "--state", str(lab["state"]),
            "--marker", ".swarmdata-id", "--into", "wiki2"]
    refused = runner(lab, *(args + ["--identity", IDENTITY]), check=False)
    assert refused.returncode == 1 and "marker of another identity" in refused.stderr
    assert sorted(os.listdir(str(other))) == [".swarmdata-id", "old.txt"]
    out = json.loads(runner(lab, *(args + ["--identity", "other-identity"])).stdout)
    assert out["into"] == "wiki2" and "/replaced/wiki2/" in out["replaced_kept_in"]
    want = tree(lab["source"])
    want[".swarmdata-id"] = hashlib.sha256(b"other-identity\n").hexdigest()
    assert tree(other) == want
    assert open(os.path.join(out["replaced_kept_in"], "old.txt")).read() == "was here"


def test_a_retired_namespaces_last_backup_outlives_retention_and_restores_by_name(lab):
    """backup --last (namespace.yml del's last backup) is tagged retired; backups after it (the namespace back in
    the inventory) never prune it, whatever the policy; restore --snapshot retired brings it back."""
    (lab["source"] / "last-words.txt").write_text("the retired state")
    retired_tree = tree(lab["source"])
    runner(lab, "backup", "--namespace", "wiki", "--source", str(lab["source"]), "--state", str(lab["state"]),
           "--policy", json.dumps(POLICY), "--marker", ".swarmdata-id", "--identity", IDENTITY, "--last")
    (lab["source"] / "last-words.txt").unlink()
    for _round in range(2):
        backup(lab, policy=dict(POLICY, keep_last=1))
    snaps = json.loads(restic(lab, "snapshots", "--json").stdout)
    assert len(snaps) == 2 and sum("retired" in s["tags"] for s in snaps) == 1, snaps
    target = lab["tmp"] / "back"
    runner(lab, "restore", "--namespace", "wiki", "--target", str(target), "--state", str(lab["state"]),
           "--snapshot", "retired")
    assert tree(target) == retired_tree


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(argv, port, env=None):
    """A repository server on loopback, once it answers."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("%s did not listen on %d" % (argv[0], port))


@BOTH_RESTICS
def test_offsite_copy_append_only_behind_http_credentials_and_caught_up_after_an_outage(lab):
    """Both repository servers ask for the cluster's HTTP credentials: the main one as the backup stack runs it
    (backup-runner repository, rclone's server), the off-site one as roles/backup sets it up on its host (rclone's
    server, append-only). Each backup is copied off-site; the off-site repository refuses a forget; an off-site
    outage fails the run loudly but keeps the backup, and the next run copies what was missed; wrong credentials
    are named as such; the password is in no output; the textfile metrics parse."""
    tmp = lab["tmp"]
    secret = tmp / "backup_http"
    secret.write_text(os.urandom(16).hex() + "\n")
    password = secret.read_text().strip()
    # The off-site server has credentials of its own (they cross the network to a host outside the cluster).
    offsite_secret = tmp / "backup_offsite_http"
    offsite_secret.write_text(os.urandom(16).hex() + "\n")
    offsite_password = offsite_secret.read_text().strip()
    htpasswd = tmp / "offsite.htpasswd"
    htpasswd.write_text("swarmdata:{SHA}%s\n" % base64.b64encode(hashlib.sha1(offsite_password.encode()).digest())
                        .decode())
    (tmp / "repos").mkdir()
    (tmp / "offsite").mkdir()
    (tmp / "textfile").mkdir()
    main_port, off_port = free_port(), free_port()
    server_env = dict(os.environ, BACKUP_HTTP_PASSWORD_FILE=str(secret))
    offsite_argv = ["rclone", "serve", "restic", "--append-only", "--htpasswd", str(htpasswd),
                    "--addr", "127.0.0.1:%d" % off_port, str(tmp / "offsite")]
    main_server = start_server([sys.executable, RUNNER, "repository", "--addr", "127.0.0.1:%d" % main_port,
                                str(tmp / "repos")], main_port, server_env)
    off_server = start_server(offsite_argv, off_port)
    env = dict(lab["env"], BACKUP_REPOSITORY_BASE="rest:http://127.0.0.1:%d/" % main_port,
               BACKUP_OFFSITE_BASE="rest:http://127.0.0.1:%d/" % off_port, BACKUP_HTTP_PASSWORD_FILE=str(secret),
               BACKUP_OFFSITE_HTTP_PASSWORD_FILE=str(offsite_secret),
               BACKUP_TEXTFILE_DIR=str(tmp / "textfile"))
    env.pop("RESTIC_REPOSITORY")
    svc = dict(lab, env=env)
    main_url = "rest:http://swarmdata:%s@127.0.0.1:%d/wiki" % (password, main_port)
    off_url = "rest:http://swarmdata:%s@127.0.0.1:%d/wiki" % (offsite_password, off_port)

    def listing(url):
        proc = subprocess.run(["restic", "snapshots", "--json", "--no-lock"],
                              env=dict(lab["env"], RESTIC_REPOSITORY=url), capture_output=True, text=True,
                              timeout=120, check=True)
        return json.loads(proc.stdout)

    try:
        outputs = []
        keep_two = dict(POLICY, keep_last=2)
        run = backup(svc, policy=keep_two)
        outputs.append(run.stdout + run.stderr)
        assert json.loads(run.stdout)["offsite"] == "1 snapshots"
        main_ids = [s["id"] for s in listing(main_url)]
        assert [s["original"] for s in listing(off_url)] == main_ids and len(main_ids) == 1
        # The same tree off-site: the copy is the same snapshot of the same files.
        assert [s["tree"] for s in listing(off_url)] == [s["tree"] for s in listing(main_url)]
        assert metric(lab, "swarmdata_backup_snapshots", "offsite") == 1
        assert metric(lab, "swarmdata_backup_last_success_timestamp_seconds", "offsite") == \
            metric(lab, "swarmdata_backup_last_success_timestamp_seconds", "main")

        # Append-only: with the cluster's own credentials, the off-site server refuses to delete a snapshot file
        # (the request restic's forget makes; restic itself retries a refused delete for about 45 s) and a data pack.
        auth = "Basic " + base64.b64encode(("swarmdata:" + offsite_password).encode()).decode()
        # The main server's credentials open nothing off-site.
        main_auth = "Basic " + base64.b64encode(("swarmdata:" + password).encode()).decode()
        with pytest.raises(urllib.error.HTTPError) as refused_main:
            urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - loopback, the test's own server
                "http://127.0.0.1:%d/wiki/config" % off_port, headers={"Authorization": main_auth}), timeout=30)
        assert refused_main.value.code == 401
        for kind in ("snapshots", "data"):
            names = os.listdir(str(tmp / "offsite" / "wiki" / kind)) if kind == "snapshots" else [
                name for sub in os.listdir(str(tmp / "offsite" / "wiki" / "data"))
                for name in os.listdir(str(tmp / "offsite" / "wiki" / "data" / sub))]
            request = urllib.request.Request("http://127.0.0.1:%d/wiki/%s/%s" % (off_port, kind, names[0]),
                                             method="DELETE", headers={"Authorization": auth})
            with pytest.raises(urllib.error.HTTPError) as refused_delete:
                urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback, the test's own server
            assert refused_delete.value.code == 403
        assert len(listing(off_url)) == 1

        # The off-site host down: the backup is made and kept, the run fails loudly, the metrics say so.
        off_server.terminate()
        off_server.wait(timeout=30)
        down = backup(svc, check=False, policy=keep_two)
        outputs.append(down.stdout + down.stderr)
        assert down.returncode == 1 and "was backed up" in down.stderr and "off-site copy failed" in down.stderr
        assert len(listing(main_url)) == 2
        assert metric(lab, "swarmdata_backup_last_status", "main") == 1
        assert metric(lab, "swarmdata_backup_last_status", "offsite") == 0
        # Back: the next run copies the one it missed too.
        off_server = start_server(offsite_argv, off_port)
        run = backup(svc, policy=keep_two)
        outputs.append(run.stdout + run.stderr)
        # Everything the main repository holds is off-site; the off-site copy also keeps the snapshot the main
        # repository's retention (keep_last 2) has since pruned: append-only, its retention is its host's.
        originals = [s["original"] for s in listing(off_url)]
        assert set(s["id"] for s in listing(main_url)) <= set(originals) and len(originals) == len(set(originals)) == 3
        assert main_ids[0] in originals and main_ids[0] not in [s["id"] for s in listing(main_url)]
        assert metric(lab, "swarmdata_backup_last_status", "offsite") == 1

        # Credentials the servers do not know: named as such, and no repository is made.
        wrong = tmp / "wrong"
        wrong.write_text("not-the-password\n")
        refused = backup(dict(lab, env=dict(env, BACKUP_HTTP_PASSWORD_FILE=str(wrong))), check=False)
        outputs.append(refused.stdout + refused.stderr)
        assert refused.returncode == 1 and "refuses the cluster's HTTP credentials" in refused.stderr, refused.stderr
        assert sorted(os.listdir(str(tmp / "repos"))) == ["wiki"]
        assert all(password not in out and offsite_password not in out for out in outputs)

        # node_exporter's textfile collector reads the same text, and it parses.
        text = (tmp / "textfile" / "swarmdata_backup_wiki.prom").read_text()
        assert text == (lab["state"] / "wiki.prom").read_text()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=60, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        for proc in (main_server, off_server):
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
def app_container(lab, tmp_path):
    """A real container of a pretend Swarm service "testapp_db" on this machine's Docker engine (its service label
    is what the hook agent looks for), from a tiny image of Debian's busybox-static, the namespace mounted at /data
    as an application's volume; removed after, with its image (both labelled io.swarmdata.test)."""
    root = tmp_path / "image"
    (root / "bin").mkdir(parents=True)
    (root / "tmp").mkdir()
    shutil.copy2(shutil.which("busybox"), str(root / "bin" / "busybox"))
    for tool in ("sh", "sleep", "echo", "cat"):
        os.symlink("busybox", str(root / "bin" / tool))
    image = "swarmdata-test/hooks-app:%d" % os.getpid()
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "--change", "LABEL io.swarmdata.test=hooks", "-", image], stdin=tar.stdout,
                   check=True, capture_output=True, timeout=120)
    tar.wait(timeout=60)
    name = "swarmdata-test-hooks-%d" % os.getpid()
    subprocess.run(["docker", "run", "-d", "--name", name, "--label", "io.swarmdata.test=hooks",
                    "--label", "com.docker.swarm.service.name=testapp_db", "-v", "%s:/data" % lab["source"],
                    image, "/bin/sleep", "600"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120, check=False)
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=120, check=False)


def test_hooks_run_in_the_applications_container_and_a_failing_one_fails_the_backup_loudly(lab, app_container):
    """The hook agent against the real Docker engine: the pre and post commands run in the container of the
    configured service (found by its service label), the backup holds what pre wrote; a pre that fails fails the
    backup with its message and exit code, takes no snapshot, and post still runs; the agent refuses a request
    without the credentials, a namespace it has no hooks for, and a scale it was not configured for; a service
    with no running container fails the backup."""
    tmp = lab["tmp"]
    secret = tmp / "backup_http"
    secret.write_text(os.urandom(16).hex() + "\n")
    config = {
        "wiki": {"service": "testapp_db", "pre": "echo dumped-$((6*7)) > /data/dump.txt && echo pre-ran",
                 "post": "echo post-ran >> /tmp/post", "timeout": 60, "scale_to_zero": False},
        "wiki2": {"service": "testapp_db", "pre": "echo cannot dump, disk full >&2; exit 3",
                  "post": "echo post-after-failure >> /tmp/post", "timeout": 60, "scale_to_zero": False},
    }
    port = free_port()
    agent = start_server([sys.executable, RUNNER, "hook-agent"], port, dict(
        os.environ, BACKUP_HOOKS=json.dumps(config), BACKUP_HOOK_PORT=str(port),
        BACKUP_HTTP_PASSWORD_FILE=str(secret)))
    try:
        # The pre hook writes its "dump" into the namespace (as a database dump would be written to its volume).
        env = dict(lab["env"], BACKUP_HOOK_AGENTS="127.0.0.1", BACKUP_HOOK_PORT=str(port),
                   BACKUP_HTTP_PASSWORD_FILE=str(secret))
        ok = backup(dict(lab, env=dict(env, BACKUP_HOOK=json.dumps(config["wiki"]))))
        assert "pre hook ran in testapp_db" in ok.stdout and "post hook ran in testapp_db" in ok.stdout, ok.stdout
        inside = subprocess.run(["docker", "exec", app_container, "cat", "/tmp/post"],
                                capture_output=True, text=True, timeout=60, check=True).stdout
        assert inside == "post-ran\n"
        snaps = json.loads(restic(lab, "snapshots", "--json").stdout)
        assert len(snaps) == 1
        # The snapshot holds what the pre hook wrote.
        assert restic(lab, "dump", snaps[0]["id"], "/dump.txt").stdout == "dumped-42\n"

        # A failing pre hook: the backup fails with the hook's own message, no snapshot is taken, post still runs.
        failed = runner(dict(lab, env=dict(env, BACKUP_HOOK=json.dumps(config["wiki2"]))), "backup", "--namespace",
                        "wiki2", "--source", str(lab["source"]), "--state", str(lab["state"]), "--policy",
                        json.dumps(POLICY), "--marker", ".swarmdata-id", "--identity", IDENTITY, check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "the pre hook failed in testapp_db" in failed.stderr and "(exit 3): cannot dump, disk full" \
            in failed.stderr, failed.stderr
        assert json.loads(restic(lab, "snapshots", "--json").stdout) == snaps
        post = subprocess.run(["docker", "exec", app_container, "cat", "/tmp/post"], capture_output=True, text=True,
                              timeout=60, check=True).stdout
        assert post.splitlines()[-1] == "post-after-failure"
        state = json.loads((lab["state"] / "wiki2.json").read_text())
        assert state["last_status"] == 0 and "cannot dump, disk full" in state["last_error"]

        # The agent does only what it was configured for, for whoever has the credentials.
        url = "http://127.0.0.1:%d/" % port
        password = secret.read_text().strip()
        auth = "Basic " + base64.b64encode(("swarmdata:" + password).encode()).decode()
        for body, headers, code in (
                ({"namespace": "wiki", "action": "pre"}, {}, 401),
                ({"namespace": "db", "action": "pre"}, {"Authorization": auth}, 404),
                ({"namespace": "wiki", "action": "scale_down"}, {"Authorization": auth}, 403)):
            request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback, the test's own agent
            assert refused.value.code == code, body

        # The service runs no container anywhere: the backup fails, naming it.
        subprocess.run(["docker", "stop", "-t", "1", app_container], check=True, capture_output=True, timeout=120)
        gone = backup(dict(lab, env=dict(env, BACKUP_HOOK=json.dumps(config["wiki"]))), check=False)
        assert gone.returncode == 1 and "no running container of testapp_db" in gone.stderr, gone.stderr
    finally:
        agent.terminate()
        agent.wait(timeout=30)
