# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One namespace's backup with restic, and its restore (docs/backup.md). Python 3 standard library only.

restic does the work: deduplicated, encrypted snapshots, retention, checks and restores. This adds what restic
does not do by itself, for one namespace and one repository per call:

- a namespace whose marker is missing or holds another identity (an unmounted disk) is never backed up: the run
  fails before restic runs, and a snapshot that does not hold the marker after all (the source changed while
  restic read it) is forgotten at once, so an empty tree never becomes the latest backup;
- restic's stale locks are removed before the backup (restic counts a lock as stale when its process on this
  host is gone, or when it is older than 30 minutes); a lock left after that belongs to a live run, and this run
  stops before it changes anything, naming the holder;
- ``check --read-data-subset=k/N``, with k stepping once per run (the run number is a tag of each snapshot, so
  it survives restarts and retention), so every pack is read once every N runs;
- a restore drill: a canary written just before the backup is restored from the new snapshot and compared;
- then, the new snapshot known good, ``forget --prune`` with the namespace's policy, grouped within the namespace's
  tag (the source path may differ from run to run: a replica's snapshot, a live copy);
- with hooks (BACKUP_HOOK), the copy runs between them: a pre command in the application's container, the service
  scaled to 0; after it, also when it failed, the service scaled back, then a post command (hooks.py);
- then, where an off-site repository is set (BACKUP_OFFSITE_BASE), ``restic copy`` of every snapshot of the
  namespace it lacks into it (append-only on its server, so nothing this cluster does can delete it); a failed
  copy fails the run loudly but leaves the backup as it is, and the next run copies what is missing;
- metrics in Prometheus text format per repository, with the last success taken from each repository itself on
  each run, so it never falls to 0 because a container restarted; written to the state directory and, where one
  is given (BACKUP_TEXTFILE_DIR), to node_exporter's textfile collector directory.

Usage (every path absolute; the repository and its password come from restic's own environment variables,
RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE, never from the command line; or BACKUP_REPOSITORY_BASE, to which the
namespace's name is appended, and BACKUP_OFFSITE_BASE likewise for the off-site copy; where
BACKUP_HTTP_PASSWORD_FILE (and BACKUP_OFFSITE_HTTP_PASSWORD_FILE, the off-site server's own) names a file, its
password (user swarmdata) goes into that server's URLs, never onto a command line or into a message):

    backup_runner.py backup  --namespace NS --source DIR [--snapshots DIR] --state DIR --policy JSON --marker REL
                             --identity ID
                             [--last]   (the last backup before namespace.yml retires it: no retention)
    backup_runner.py serve   (the same options: backup now and then every policy interval, counted from the newest
                             snapshot in the repository)
    backup_runner.py restore --namespace NS --target DIR --state DIR [--snapshot latest|ID|TIME] [--path REL ...]
                             [--dry-run] [--into NS2]   (NS's backup into the namespace NS2, the target)
    backup_runner.py metrics --namespace NS --state DIR --policy JSON
    backup_runner.py snapshots --namespace NS [--offsite]   (restic's listing, JSON)
    backup_runner.py repository [rclone serve restic's options] DIR   (the repository server: rclone's, asking for
                             the HTTP password of BACKUP_HTTP_PASSWORD_FILE)
    backup_runner.py hook-agent  (a node's hook agent: runs the namespaces' configured hooks in their applications'
                             containers on this node, and scales their services from a manager; hooks.py)

Every option also comes from the environment (BACKUP_NAMESPACE, BACKUP_SOURCE, ...): the backup service sets them,
so ``docker exec <its container> backup-runner backup`` runs the same backup as its schedule does. A run in a
container holds that container's lock, so the schedule and an on-demand run never overlap there.
"""

import argparse
import base64
import calendar
import datetime
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

# hooks.py lies beside this file (in the image, and in the checkout where tests import this file by its path).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooks  # noqa: E402 - after its directory is on the path

# Per namespace (.swarmdata-backup-canary-<ns>), so that two namespaces backed up at once never share one.
CANARY_PREFIX = ".swarmdata-backup-canary-"
CANARY_FILE = "token"
CHECK_PARTS = 10
TAG_PREFIX = "ns:"
RUN_PREFIX = "run:"
LAST_TAG = "retired"  # the last backup of a namespace taken before namespace.yml deleted it
SNAPSHOT_NAME_RE = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")  # the bind mover's snapshot names (snapshots.py)
RETRY_SECONDS = 60
OFFSITE_RETRY_SECONDS = 300
HTTP_USER = "swarmdata"
TEXTFILE_PREFIX = "swarmdata_backup_"
# Listing markers of write_metrics and metrics_text: not read yet, and no off-site repository set.
UNLISTED = object()
NO_OFFSITE = object()
# Values no message may carry (the HTTP password, and the URLs holding it): replaced by *** wherever printed.
REDACT = []
TIME_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class BackupError(Exception):
    """A run that must fail loudly (the message says why)."""


def redact(text):
    for value in REDACT:
        text = text.replace(value, "***")
    return text


def probe_seconds():
    """How long a call that only reads a repository may take: restic 0.17 and later retry a server that does not
    answer for up to 15 minutes, which would hold a backup (and the schedule) that long."""
    return int(os.environ.get("BACKUP_PROBE_SECONDS", "60"))


def run(argv, check=True, cwd=None, env=None, timeout=None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False, timeout=timeout,
                              env=dict(os.environ, **env) if env else None)
    except subprocess.TimeoutExpired:
        raise BackupError("%s did not finish within %d s: its repository server does not answer"
                          % (" ".join(argv[:2]), timeout)) from None
    if check and proc.returncode != 0:
        raise BackupError("%s failed (exit %d): %s" % (
            " ".join(argv[:2]), proc.returncode, redact((proc.stderr + proc.stdout).strip())[-1500:]))
    return proc


def restic(args, check=True, cwd=None, repo=None, env=None, timeout=None):
    """restic on the namespace's repository, or on ``repo`` (a URL, given in the environment, never in argv)."""
    extra = dict(env or {})
    if repo:
        extra["RESTIC_REPOSITORY"] = repo
    return run(["restic"] + list(args), check=check, cwd=cwd, env=extra, timeout=timeout)


def repository_url(base, namespace, password=None):
    """``base`` + the namespace; with ``password``, user swarmdata and it in the URL's authority (restic 0.14 takes
    REST credentials only there; it prints such a URL with the password as ***)."""
    url = base.rstrip("/") + "/" + namespace
    if password:
        scheme, sep, rest = url.partition("://")
        if sep and scheme.startswith("rest:http"):
            url = "%s://%s:%s@%s" % (scheme, HTTP_USER, password, rest)
            REDACT.append(url)
            REDACT.append(password)
    return url


def http_password(variable="BACKUP_HTTP_PASSWORD_FILE"):
    """The HTTP password in the file ``variable`` names (a Swarm secret), or None where it names none."""
    path = os.environ.get(variable)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as exc:
        raise BackupError("cannot read the repository server's HTTP password (%s): %s" % (path, exc.strerror)) \
            from None


def write_atomic(path, text, mode=0o600):
    """Replace ``path`` with ``text`` in one rename, so a reader never sees half of it."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


_VERSION = []


def restic_version():
    """restic's version, as it prints it ("0.14.0"), read once per process."""
    if not _VERSION:
        out = restic(["version"]).stdout.split()
        _VERSION.append(out[1] if len(out) > 1 else "unknown")
    return _VERSION[0]


def restic_at_least(*wanted):
    """Whether this restic is at least version ``wanted`` (0, 17): newer features are used only where present."""
    try:
        have = tuple(int(part) for part in re.findall(r"\d+", restic_version())[:len(wanted)])
    except ValueError:
        return False
    return have >= wanted


def ensure_repository(repo=None, init_args=(), env=None, what="the repository"):
    """Initialise the repository only where there is none; a wrong password fails, it is never re-initialised."""
    probe = restic(["cat", "config"], check=False, repo=repo, env=env, timeout=probe_seconds())
    if probe.returncode == 0:
        return False
    text = redact(probe.stderr or "")
    # restic 0.17 and later say it by exit code: 10, no repository there; 12, a wrong password. Older ones (Debian
    # bookworm's 0.14) only say it in words, read below.
    if restic_at_least(0, 17) and probe.returncode in (10, 12):
        if probe.returncode == 12:
            raise BackupError("%s exists but the password does not open it: %s" % (what, text.strip()[-300:]))
        restic(["init"] + list(init_args), repo=repo, env=env)
        return True
    if "wrong password" in text or "no key found" in text:
        raise BackupError("%s exists but the password does not open it: %s" % (what, text.strip()[-300:]))
    if "(401)" in text or "(403)" in text or "401 Unauthorized" in text:
        raise BackupError("the server of %s refuses the cluster's HTTP credentials: %s" % (what, text.strip()[-300:]))
    # Only a repository that is not there is made: "does not exist" (REST, 404) or "no such file" (a local path).
    # A server that cannot be reached, or any other error, is reported as it is.
    if "does not exist" not in text and "no such file or directory" not in text:
        raise BackupError("cannot read %s: %s" % (what, text.strip()[-500:]))
    restic(["init"] + list(init_args), repo=repo, env=env)
    return True


def snapshots(namespace, repo=None):
    """The namespace's snapshots in the repository (or in ``repo``), oldest first."""
    # --no-lock: a listing never makes a backup that starts at the same moment fail on a lock of its own.
    out = restic(["--no-lock", "snapshots", "--json", "--tag", TAG_PREFIX + namespace], repo=repo,
                 timeout=probe_seconds()).stdout
    try:
        return sorted(json.loads(out or "[]") or [], key=lambda s: s["time"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError("cannot read restic's snapshot list: %s" % exc) from None


def snapshot_time(snap):
    """restic's RFC 3339 time (nanoseconds, 'Z' or an offset) as a Unix timestamp."""
    match = TIME_RE.match(snap["time"])
    if not match:
        raise BackupError("cannot read snapshot time %r" % snap["time"])
    base, frac, zone = match.groups()
    parsed = datetime.datetime.fromisoformat(base + (frac or "")[:7] + ("+00:00" if zone == "Z" else zone))
    return parsed.timestamp()


def resolve_snapshot(namespace, wanted):
    """latest, retired (the last backup taken before the namespace was retired), a snapshot ID (or its short form),
    or a time: the newest snapshot taken at or before it."""
    snaps = snapshots(namespace)
    if not snaps:
        raise BackupError("the repository has no snapshot of namespace %s" % namespace)
    if wanted in ("", "latest"):
        return snaps[-1]["id"]
    if wanted == LAST_TAG:
        retired = [s for s in snaps if LAST_TAG in (s.get("tags") or [])]
        if not retired:
            raise BackupError("namespace %s has no snapshot tagged %s (it was never retired with backups set up)"
                              % (namespace, LAST_TAG))
        return retired[-1]["id"]
    for snap in snaps:
        if snap["id"].startswith(wanted) or snap.get("short_id") == wanted:
            return snap["id"]
    try:
        when = datetime.datetime.fromisoformat(wanted.replace("Z", "+00:00"))
    except ValueError:
        raise BackupError("snapshot %r is neither latest, retired, a snapshot ID of namespace %s, nor a time like "
                          "2026-12-01T10:00:00Z" % (wanted, namespace)) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    older = [s for s in snaps if snapshot_time(s) <= when.timestamp()]
    if not older:
        raise BackupError("namespace %s has no snapshot at or before %s (the oldest is %s)"
                          % (namespace, wanted, snaps[0]["time"]))
    return older[-1]["id"]


def run_number(snap):
    for tag in snap.get("tags") or []:
        if tag.startswith(RUN_PREFIX) and tag[len(RUN_PREFIX):].isdigit():
            return int(tag[len(RUN_PREFIX):])
    return 0


def canary_dir(namespace):
    return CANARY_PREFIX + namespace


def pick_source(opts, max_age, now=None):
    """The newest snapshot under ``--snapshots`` (a bind replica's, consistent and read-only), else ``--source``.

    With ``--snapshots``, a replica that holds no snapshot of the namespace, or only ones older than the policy's
    max_age (its replication stopped: a receiver down, a fenced old primary), fails the run loudly rather than back
    up stale or diverged data as if it were new."""
    if not opts.snapshots:
        return opts.source
    try:
        found = sorted(n for n in os.listdir(opts.snapshots) if SNAPSHOT_NAME_RE.match(n))
    except OSError:
        found = []
    if not found:
        raise BackupError("this node holds no snapshot of the namespace under %s yet; nothing was backed up"
                          % opts.snapshots)
    taken = calendar.timegm(time.strptime(found[-1].split("-", 1)[0], "%Y%m%dT%H%M%SZ"))
    age = (time.time() if now is None else now) - taken
    if max_age and age > max_age:
        raise BackupError("the newest snapshot on this node, %s, is %d s old, more than the policy's max_age of %d s: "
                          "is replication to this node stopped? Nothing was backed up" % (found[-1], age, max_age))
    return os.path.join(opts.snapshots, found[-1])


def hold_lock(namespace):
    """The namespace's run lock in this container (a scheduled and an on-demand run never overlap); fails when
    another run holds it."""
    path = os.path.join(tempfile.gettempdir(), "swarmdata-backup-%s.lock" % namespace)
    handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise BackupError("another backup or restore of this namespace is running in this container") from None
    return handle


def check_marker(source, marker, identity, action="backup"):
    path = os.path.join(source, marker)
    consequence = ("Nothing was backed up, so an empty tree never becomes the latest backup" if action == "backup"
                   else "Nothing was restored, so the namespace's own disk is never bypassed")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            found = handle.read(4096).strip()
    except OSError:
        raise BackupError("%s has no marker %s: is its disk mounted? %s" % (source, marker, consequence)) from None
    if found != identity:
        raise BackupError("%s holds the marker of another identity (%s). %s" % (source, found, consequence))


def live_locks(namespace):
    """Fail, naming the holder, where the repository is locked by a run that is still alive."""
    ids = restic(["list", "locks", "--no-lock"]).stdout.split()
    holders = []
    for lock_id in ids:
        probe = restic(["cat", "lock", lock_id, "--no-lock"], check=False)
        try:
            lock = json.loads(probe.stdout)
        except ValueError:
            continue  # removed meanwhile
        holders.append("pid %s on %s since %s%s" % (lock.get("pid"), lock.get("hostname"), lock.get("time", "")[:19],
                                                    " (exclusive)" if lock.get("exclusive") else ""))
    if holders:
        raise BackupError("the repository of namespace %s is locked by a run that is still alive (%s); this run "
                          "changed nothing. Never two at once: it runs again at its next interval"
                          % (namespace, "; ".join(holders)))


def forget_args(policy):
    args = []
    for key in ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly"):
        if policy.get(key):
            args += ["--" + key.replace("_", "-"), str(policy[key])]
    return args


def load_state(state_dir, namespace):
    try:
        with open(os.path.join(state_dir, namespace + ".json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def save_state(state_dir, namespace, state):
    os.makedirs(state_dir, exist_ok=True)
    write_atomic(os.path.join(state_dir, namespace + ".json"), json.dumps(state, sort_keys=True))


def verify_marker(snapshot_id, opts):
    """The new snapshot must hold the namespace's marker: a filesystem mounted over the source (or the disk gone)
    between the check and restic's reading would otherwise become the latest backup. Such a snapshot is forgotten
    at once and the run fails."""
    probe = restic(["dump", snapshot_id, "/" + opts.marker.strip("/")], check=False)
    if probe.returncode == 0 and probe.stdout.strip() == opts.identity:
        return
    restic(["forget", snapshot_id])
    raise BackupError("snapshot %s of %s does not hold the namespace's marker %s (the source changed while it was "
                      "read: a disk unmounted, or another filesystem mounted over it); it was forgotten, nothing else "
                      "changed" % (snapshot_id[:8], opts.source, opts.marker))


def drill(snapshot_id, token, namespace):
    """Restore the canary from the new snapshot and compare it with what was written."""
    target = tempfile.mkdtemp(prefix="swarmdata-drill-")
    try:
        restic(["restore", snapshot_id, "--target", target, "--include",
                "/%s/%s" % (canary_dir(namespace), CANARY_FILE)])
        with open(os.path.join(target, canary_dir(namespace), CANARY_FILE), encoding="utf-8") as handle:
            restored = handle.read()
    except (OSError, BackupError) as exc:
        raise BackupError("restore drill failed: %s" % exc) from None
    finally:
        shutil.rmtree(target, ignore_errors=True)
    if restored != token:
        raise BackupError("restore drill failed: the canary restored from %s differs from the one written"
                          % snapshot_id)


def take(opts, started, run_no):
    """The snapshot: the canary written, restic backup from inside the source, the marker checked in the result.
    (canary token, restic's summary)."""
    # The canary sits beside the source, so that restic (given relative paths, from inside the source) stores it
    # at the snapshot's root next to the namespace's own tree, whatever the source path. In the container the
    # source's parent is the runner's own directory (/sources), not the node's namespaces directory.
    canary = os.path.join(os.path.dirname(os.path.abspath(opts.source)), canary_dir(opts.namespace))
    os.makedirs(canary, exist_ok=True)
    token = "%s %s\n" % (secrets.token_hex(16), started)
    with open(os.path.join(canary, CANARY_FILE), "w", encoding="utf-8") as handle:
        handle.write(token)
    proc = restic(["backup", "--json", "--host", "swarmdata", "--tag", TAG_PREFIX + opts.namespace,
                   "--tag", RUN_PREFIX + str(run_no)] + (["--tag", LAST_TAG] if getattr(opts, "last", False) else [])
                  + [".", os.path.join("..", canary_dir(opts.namespace))], cwd=opts.source)
    summary = [json.loads(line) for line in proc.stdout.splitlines() if '"summary"' in line][-1]
    verify_marker(summary["snapshot_id"], opts)
    return token, summary


def hook_settings():
    """(this namespace's hooks, the agents' DNS name, their port), or None where it has none (BACKUP_HOOK)."""
    text = os.environ.get("BACKUP_HOOK")
    if not text:
        return None
    return json.loads(text), os.environ.get("BACKUP_HOOK_AGENTS", "tasks.hooks"), \
        int(os.environ.get("BACKUP_HOOK_PORT", "8001"))


def hook_call(settings, body, timeout):
    _hooks, name, port = settings
    try:
        return hooks.call(name, port, body, http_password(), timeout)
    except hooks.HookError as exc:
        raise BackupError(redact(str(exc))) from None


def note(events, text):
    """What the hooks did: kept for the run's report, and logged (stderr: stdout is the report alone)."""
    events.append(text)
    print("backup_runner: %s" % text, file=sys.stderr, flush=True)


def run_hook(settings, namespace, phase, events):
    """The namespace's ``phase`` (pre, post) command in its application's container; a non-zero exit fails."""
    config = settings[0]
    answer = hook_call(settings, {"namespace": namespace, "action": phase}, config["timeout"] + 30)
    if answer.get("exit_code") != 0:
        raise BackupError("the %s hook failed in %s on %s (exit %s): %s" % (
            phase, config["service"], answer.get("node"), answer.get("exit_code"),
            (answer.get("output") or "").strip()[-1000:] or "no output"))
    note(events, "%s hook ran in %s on %s" % (phase, config["service"], answer.get("node")))


def scale(settings, namespace, down, events):
    """The namespace's service scaled down to 0, or back up to its former count (kept on the service); the count
    it had before."""
    answer = hook_call(settings, {"namespace": namespace, "action": "scale_down" if down else "scale_up"},
                       hooks.SCALE_WAIT_SECONDS + 60)
    if answer.get("before") != answer.get("replicas"):
        note(events, "%s scaled from %s to %s" % (settings[0]["service"], answer.get("before"), answer.get("replicas")))
    return answer["before"]


def with_hooks(opts, copy, events):
    """``copy()`` between the namespace's hooks: pre, then its service scaled to 0; after it, also when it failed,
    the service scaled back to its former count, then post (once pre was tried). Any failing hook fails the run,
    with the hook's message. A service a killed run left at 0 is scaled back first (its former count is a label of
    the service itself)."""
    settings = hook_settings()
    if not settings:
        return copy()
    config, namespace = settings[0], opts.namespace
    if config.get("scale_to_zero"):
        scale(settings, namespace, False, events)
    failure, errors, result, pre_tried, scaled = None, [], None, False, False
    try:
        if config.get("pre"):
            pre_tried = True
            run_hook(settings, namespace, "pre", events)
        if config.get("scale_to_zero"):
            scaled = True  # also when the scale down fails halfway: scaling up is a no-op where nothing changed
            scale(settings, namespace, True, events)
        result = copy()
    except BaseException as exc:  # noqa: BLE001 - also SIGTERM (a stopped or moved service): cleaned up, re-raised
        failure = exc
    if scaled:
        try:
            scale(settings, namespace, False, events)
        except BackupError as exc:
            errors.append("scaling %s back failed: %s" % (config["service"], exc))
    if config.get("post") and (pre_tried or not config.get("pre")):
        try:
            run_hook(settings, namespace, "post", events)
        except BackupError as exc:
            errors.append(str(exc))
    if failure is not None and errors:
        if not isinstance(failure, Exception):  # ended by a signal: say what the clean-up met, then end as asked
            print("backup_runner: stopped; and then %s" % "; ".join(errors), file=sys.stderr, flush=True)
            raise failure
        raise BackupError("%s; and then %s" % (failure, "; ".join(errors)))
    if failure is not None:
        raise failure
    if errors:
        raise BackupError("the snapshot was taken, but %s" % "; ".join(errors))
    return result


def backup(opts):
    policy = json.loads(opts.policy)
    state = load_state(opts.state, opts.namespace)
    started = time.time()
    state.update(last_attempt=started, last_status=0, last_error=None, restic_version=restic_version())
    events = []
    try:
        opts.source = pick_source(opts, policy.get("max_age", 0))
        check_marker(opts.source, opts.marker, opts.identity)
        ensure_repository()
        # Only locks whose process is gone (or older than restic's limit) go; a lock left after that belongs to a
        # live run (a repository holds one namespace), and this run stops before it changes anything.
        restic(["unlock"])
        live_locks(opts.namespace)
        # Each snapshot carries its run number (the newest one's + 1): kept in the repository, so the checked part
        # below rotates across restarts, and retention, which bounds the snapshot count, cannot stop it.
        before = snapshots(opts.namespace)
        run_no = (max([run_number(s) for s in before] or [0])) + 1
        # The copy itself, between the hooks (pre, then the service scaled to 0; after it, scaled back, then post),
        # so the application waits only for it, not for the check and drill after.
        token, summary = with_hooks(opts, lambda: take(opts, started, run_no), events)
        snapshot_id = summary["snapshot_id"]
        part = (run_no - 1) % CHECK_PARTS + 1
        restic(["check", "--read-data-subset=%d/%d" % (part, CHECK_PARTS)])
        state.update(last_check=time.time(), last_check_part="%d/%d" % (part, CHECK_PARTS))
        drill(snapshot_id, token, opts.namespace)
        state.update(last_drill=time.time())
        # Retention last, once the new snapshot is known good: a failed run never pushes out an older snapshot.
        # One group per namespace: filtered by its tag, grouped by host (always "swarmdata"), since the source path
        # differs from run to run and the run tags differ per snapshot.
        # A namespace's last backup (--last, before it is retired) prunes nothing: it is what stays of it.
        if not getattr(opts, "last", False):
            # --keep-tag: a namespace's last backup before it was retired is never pruned, also after it came back.
            restic(["forget", "--tag", TAG_PREFIX + opts.namespace, "--group-by", "host", "--keep-tag", LAST_TAG,
                    "--prune"] + forget_args(policy))
        state.update(last_status=1, failures=0, last_snapshot=snapshot_id, bytes_added=summary.get("data_added", 0),
                     duration=time.time() - started)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, and reported as the run's failure
        state.update(last_error=redact(str(exc)), duration=time.time() - started, failures=state.get("failures", 0) + 1)
        save_state(opts.state, opts.namespace, state)
        write_metrics(opts, policy, state)
        if isinstance(exc, BackupError):
            raise
        raise BackupError("the run failed: %s: %s" % (type(exc).__name__, redact(str(exc)))) from exc
    # The backup stands whatever happens next: a failed off-site copy fails the run loudly (and is retried), but it
    # is not a failed backup, so the schedule does not back up again a minute later.
    copy_error = None
    try:
        copied = offsite_copy(opts.namespace, state)
    except BackupError as exc:
        copy_error, copied = exc, None
    save_state(opts.state, opts.namespace, state)
    write_metrics(opts, policy, state, offsite_snaps=copied)
    report = {"namespace": opts.namespace, "snapshot": snapshot_id, "source": opts.source,
              "bytes_added": state["bytes_added"], "seconds": round(state["duration"], 2),
              "check": state["last_check_part"], "drill": "ok"}
    if events:
        report["hooks"] = events
    if offsite_repository():
        report["offsite"] = "failed" if copy_error else "%d snapshots" % len(copied)
    print(json.dumps(report), flush=True)
    if copy_error:
        raise BackupError("namespace %s was backed up (snapshot %s), but its off-site copy failed: %s"
                          % (opts.namespace, snapshot_id[:8], copy_error))


def offsite_repository():
    return os.environ.get("BACKUP_OFFSITE_REPOSITORY") or None


def offsite_copy(namespace, state):
    """Copy every snapshot of the namespace that the off-site repository lacks into it (restic copy skips the ones
    it holds already, so a copy missed while that host was down is made by the next run); its listing after, or
    None where no off-site repository is set.

    The off-site server is append-only: restic may add to it and remove its own locks there, nothing else. Its
    repository is made with the main one's chunker parameters, so the copy deduplicates like the original."""
    offsite = offsite_repository()
    if not offsite:
        return None
    main = os.environ.get("RESTIC_REPOSITORY", "")
    env = {"RESTIC_FROM_REPOSITORY": main, "RESTIC_FROM_PASSWORD_FILE": os.environ.get("RESTIC_PASSWORD_FILE", "")}
    state["offsite_last_attempt"] = time.time()
    try:
        ensure_repository(repo=offsite, init_args=["--copy-chunker-params"], env=env,
                          what="the off-site repository")
        restic(["unlock"], repo=offsite)  # stale locks only, as for the main repository
        restic(["copy", "--tag", TAG_PREFIX + namespace], repo=offsite, env=env)
        copied = snapshots(namespace, repo=offsite)
    except BackupError as exc:
        state.update(offsite_last_status=0, offsite_last_error=str(exc))
        raise
    state.update(offsite_last_status=1, offsite_last_error=None)
    return copied


def retry_delay(interval, failures):
    """How long after a failed run the next one is tried: a minute after the first failure, doubling with each
    further one in a row, at most a quarter of the interval (and never less than a minute). A hook that keeps
    failing does not stop and start its application every minute."""
    return max(RETRY_SECONDS, min(RETRY_SECONDS * 2 ** max(0, failures - 1), interval / 4))


def next_due(interval, snaps, state):
    """When the next scheduled run is due: an interval after the newest snapshot in the repository, at once when
    there is none, and after a failed run (one that failed after it made its snapshot included) its retry delay."""
    retry = state.get("last_attempt") and state.get("last_status") == 0
    if not snaps:
        return state["last_attempt"] + retry_delay(interval, state.get("failures", 1)) if retry else 0
    due = snapshot_time(snaps[-1]) + interval
    if retry:
        due = min(due, state["last_attempt"] + retry_delay(interval, state.get("failures", 1)))
    return due


def offsite_behind(snaps, offsite_snaps):
    """Whether the off-site copy lacks a snapshot the main repository holds (or could not be read)."""
    if offsite_snaps is None:
        return True
    originals = set(s.get("original") or s["id"] for s in offsite_snaps)
    return any(s["id"] not in originals for s in snaps or [])


def offsite_due(state, now=None):
    """Whether a copy may be tried again now: at most every OFFSITE_RETRY_SECONDS."""
    return (time.time() if now is None else now) - state.get("offsite_last_attempt", 0) >= OFFSITE_RETRY_SECONDS


def try_lock(namespace):
    """The namespace's run lock in this container, or None where a run holds it (that run is left alone)."""
    try:
        return hold_lock(namespace)
    except BackupError:
        return None


def serve(opts):
    """The schedule: a backup when the newest snapshot in the repository is an interval old (at once when there is
    none), a retry a minute after a failed run; an interval of 0 takes on-demand backups only. An off-site copy
    that lacks a snapshot of the main repository (its host was down, or the service moved here from a node where
    the copy failed) is caught up without a new backup. Nothing but a signal ends it: any error is reported, and the
    loop goes on."""
    policy = json.loads(opts.policy)
    interval = policy["interval"]
    print("backup_runner: serving namespace %s, every %s s" % (opts.namespace, interval or "never"), flush=True)
    settings = hook_settings()
    recovered = not (settings and settings[0].get("scale_to_zero"))
    while True:
        try:
            if not recovered:
                # A run killed between its scale down and up (its node lost, the service killed) left the
                # application at 0 with its former count as a label: back at once, not at the next backup (which
                # scales back first too). Tried again at each wake-up while the agents cannot be reached.
                try:
                    with hold_lock(opts.namespace):
                        scale(settings, opts.namespace, False, [])
                    recovered = True
                except BackupError as exc:
                    print("backup_runner: scaling %s back: %s" % (settings[0]["service"], exc), file=sys.stderr,
                          flush=True)
            snaps = listing(opts.namespace)  # None: no repository yet, or its server is not up: the backup says
            offsite = offsite_repository()
            offsite_snaps = listing(opts.namespace, offsite) if offsite else UNLISTED
            state = load_state(opts.state, opts.namespace)
            if snaps and offsite and offsite_behind(snaps, offsite_snaps) and offsite_due(state):
                # Under the run lock, so that an on-demand backup in this container is never overlapped; skipped
                # while one runs (it copies too).
                lock = try_lock(opts.namespace)
                if lock is not None:
                    with lock:
                        state = load_state(opts.state, opts.namespace)
                        try:
                            offsite_snaps = offsite_copy(opts.namespace, state)
                        except BackupError as exc:
                            offsite_snaps = None
                            print("backup_runner: %s" % exc, file=sys.stderr, flush=True)
                        save_state(opts.state, opts.namespace, state)
            # The metrics on this node at once, from the repository: also where Swarm just moved the service.
            write_metrics(opts, policy, state, snaps, offsite_snaps)
            wait = next_due(interval, snaps or [], state) - time.time() if interval else 3600
            if wait > 0:
                time.sleep(min(wait, 600))
                continue
            with hold_lock(opts.namespace):
                backup(argparse.Namespace(**vars(opts)))
        except Exception as exc:  # noqa: BLE001 - the schedule outlives any one failure
            print("backup_runner: %s" % exc, file=sys.stderr, flush=True)
            time.sleep(RETRY_SECONDS)


def metrics_text(namespace, policy, state, snaps, offsite_snaps=NO_OFFSITE, now=None):
    """The namespace's metrics, per repository (main; offsite where one is set). Each repository's last success is
    read from the repository itself (its newest snapshot). A listing of None (the repository could not be read)
    leaves that repository's last success and snapshot count out, rather than report 0 for a server that is only
    down; ``offsite_snaps`` NO_OFFSITE: no off-site repository is set."""
    rows = []

    def add(name, value, help_text, repository=None):
        labels = 'namespace="%s"' % namespace + (',repository="%s"' % repository if repository else "")
        rows.append((name, help_text, "%s{%s} %s" % (name, labels, value)))

    repos = [("main", snaps, state.get("last_attempt", 0), state.get("last_status", 0))]
    if offsite_snaps is not NO_OFFSITE:
        repos.append(("offsite", offsite_snaps, state.get("offsite_last_attempt", 0),
                      state.get("offsite_last_status", 0)))
    for repo, listing, attempt, status in repos:
        if listing is not None:
            add("swarmdata_backup_last_success_timestamp_seconds", snapshot_time(listing[-1]) if listing else 0,
                "Time of the namespace's newest snapshot in the repository.", repo)
            add("swarmdata_backup_snapshots", len(listing), "Snapshots of the namespace in the repository.", repo)
        add("swarmdata_backup_last_attempt_timestamp_seconds", attempt,
            "Start of the last run (main) or off-site copy (offsite).", repo)
        add("swarmdata_backup_last_status", status,
            "1 if the last run (main) or off-site copy (offsite) succeeded, else 0.", repo)
    add("swarmdata_backup_duration_seconds", state.get("duration", 0), "Duration of the last run.", "main")
    add("swarmdata_backup_bytes_added", state.get("bytes_added", 0), "Bytes the last successful run added.", "main")
    add("swarmdata_backup_last_check_timestamp_seconds", state.get("last_check", 0),
        "Last successful restic check of a subset of the packs.", "main")
    add("swarmdata_backup_last_drill_timestamp_seconds", state.get("last_drill", 0),
        "Last successful restore drill (the canary restored and compared).", "main")
    add("swarmdata_backup_max_age_seconds", policy.get("max_age", 0),
        "Age after which the newest snapshot counts as missed (the policy's max_age).")
    add("swarmdata_backup_metrics_timestamp_seconds", round(time.time() if now is None else now, 3),
        "When these metrics were written (at least every 10 minutes while the backup service runs here).")
    out = []
    seen = set()
    for name, help_text, sample in sorted(rows, key=lambda row: row[0]):
        if name not in seen:
            seen.add(name)
            out += ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name]
        out.append(sample)
    return "\n".join(out) + "\n"


def listing(namespace, repo=None):
    """The namespace's snapshots in the main repository (or ``repo``), or None where it cannot be read."""
    try:
        return snapshots(namespace, repo=repo)
    except BackupError:
        return None


def write_metrics(opts, policy, state, snaps=UNLISTED, offsite_snaps=UNLISTED):
    """Write (and return) the namespace's metrics; ``snaps`` and ``offsite_snaps``, the repositories' listings where
    the caller has them (None: it could not read one). Written to the state directory and, where
    BACKUP_TEXTFILE_DIR names one, to node_exporter's textfile collector directory (each in one rename, as the
    collector asks)."""
    if snaps is UNLISTED:
        snaps = listing(opts.namespace)
    if not offsite_repository():
        offsite_snaps = NO_OFFSITE
    elif offsite_snaps is UNLISTED:
        offsite_snaps = listing(opts.namespace, offsite_repository())
    text = metrics_text(opts.namespace, policy, state, snaps, offsite_snaps)
    os.makedirs(opts.state, exist_ok=True)
    write_atomic(os.path.join(opts.state, opts.namespace + ".prom"), text, 0o644)
    textfile_dir = os.environ.get("BACKUP_TEXTFILE_DIR")
    if textfile_dir and os.path.isdir(textfile_dir):
        write_atomic(os.path.join(textfile_dir, TEXTFILE_PREFIX + opts.namespace + ".prom"), text, 0o644)
    return text


def restore(opts):
    """Into a staging directory, then moved in with rsync: the target directory stays the same directory (a watch
    on it, the namespace's marker and its mount stay), and whatever the restore replaces or deletes is moved aside
    into a dated directory under the state directory, never deleted."""
    started = time.time()
    target = os.path.abspath(opts.target)
    # The namespace's own copy only: a target whose marker is missing (its disk not mounted) or foreign is never
    # written to. A restore into a new, empty directory passes no --identity.
    if opts.identity:
        if not opts.marker:
            raise BackupError("--identity needs --marker (the namespace's marker, relative to the target)")
        check_marker(target, opts.marker, opts.identity, action="restore")
    snapshot_id = resolve_snapshot(opts.namespace, opts.snapshot)
    if not opts.dry_run:
        os.makedirs(target, exist_ok=True)
    os.makedirs(opts.state, exist_ok=True)
    # Into another namespace (--into NAME, its own marker checked above): what it replaces is kept under its name.
    into = opts.into or opts.namespace
    staging = tempfile.mkdtemp(dir=opts.state, prefix=".restore-%s-" % into)
    aside = os.path.join(opts.state, "replaced", into,
                         datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    paths = [os.path.normpath(rel.strip("/")) for rel in opts.path or []]
    bad = [rel for rel in paths if rel in (".", "") or rel == ".." or rel.startswith("../")]
    if bad:
        raise BackupError("--path %s: a path inside the namespace is needed (no '..', not the namespace itself)"
                          % ", ".join(bad))
    try:
        # restic takes either includes or excludes: chosen paths never name the canary, a whole restore leaves it out.
        args = ["restore", snapshot_id, "--target", staging]
        includes = [a for rel in paths for a in ("--include", "/" + rel)]
        changes = ""
        args += includes or ["--exclude", "/" + canary_dir(opts.namespace)]
        restic(args)
        # The snapshot's root carries no owner or mode of its own: the target keeps its own.
        if os.path.isdir(target):
            live = os.stat(target)
            os.chown(staging, live.st_uid, live.st_gid)
            os.chmod(staging, stat.S_IMODE(live.st_mode))
        # Itemised: what the restore changes (or, with --dry-run, would change; then nothing is moved in or aside).
        # The target's own marker is never replaced, nor deleted (the backup's copy of it is left out).
        # --checksum: a file whose contents rotted with its size and mtime kept is restored too (the quick check
        # would take it for unchanged); it reads both trees once, which a restore can afford.
        rsync = (["rsync", "-aH", "--checksum", "--numeric-ids", "--itemize-changes", "--delete"]
                 + (["--exclude", "/" + opts.marker] if opts.marker else []) + ["--backup", "--backup-dir", aside])
        if opts.dry_run:
            rsync[1:1] = ["--dry-run"]
        if not paths:
            changes = run(rsync + ["--exclude", "/" + canary_dir(opts.namespace), staging + "/", target + "/"]).stdout
        for rel in paths:
            src = os.path.join(staging, rel)
            if not os.path.lexists(src):
                raise BackupError("path %s is not in snapshot %s of namespace %s"
                                  % (rel, snapshot_id[:8], opts.namespace))
            parent = os.path.join(target, os.path.dirname(rel))
            if opts.dry_run and not os.path.isdir(parent):
                changes += "+ %s (and its missing parent directories)\n" % rel
                continue
            os.makedirs(parent, exist_ok=True)
            # rsync keeps what it replaces under --backup-dir relative to the destination it was given: the
            # directory itself for a directory, its parent for a file, so the kept copies keep their paths.
            is_dir = os.path.isdir(src) and not os.path.islink(src)
            trailing = "/" if is_dir else ""
            kept = os.path.join(aside, rel if is_dir else os.path.dirname(rel))
            changes += run(rsync[:-2] + ["--backup-dir", kept, src + trailing,
                                         os.path.join(target, rel) + trailing]).stdout
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(json.dumps({"namespace": opts.namespace, "into": into, "snapshot": snapshot_id, "paths": paths or ["/"],
                      "dry_run": bool(opts.dry_run), "seconds": round(time.time() - started, 2),
                      "changes": [line for line in changes.splitlines() if line and not line.startswith(".d")],
                      "replaced_kept_in": aside if os.path.isdir(aside) else None}))


def serve_repository(serve_args):
    """The repository server: rclone's restic REST server, asking every request for user swarmdata and the password
    of BACKUP_HTTP_PASSWORD_FILE (a Swarm secret). The htpasswd file holds its {SHA} line, in a private temporary
    directory; the password never reaches a command line."""
    password = http_password()
    argv = ["rclone", "serve", "restic"]
    if os.environ.get("BACKUP_HTTP_PASSWORD_FILE") and not password:
        raise BackupError("the HTTP password file %s is empty: the server would ask for no credentials, so it does "
                          "not start" % os.environ["BACKUP_HTTP_PASSWORD_FILE"])
    if password:
        folder = tempfile.mkdtemp(prefix="swarmdata-repository-")
        htpasswd = os.path.join(folder, "htpasswd")
        write_atomic(htpasswd, "%s:{SHA}%s\n" % (
            HTTP_USER, base64.b64encode(hashlib.sha1(password.encode("ascii")).digest()).decode("ascii")))
        argv += ["--htpasswd", htpasswd]
    sys.stdout.flush()
    os.execvp(argv[0], argv + list(serve_args))
    return 1  # not reached


def list_snapshots(opts):
    """The namespace's snapshots in the main repository, or with --offsite in the off-site copy, as restic lists
    them (JSON), oldest first."""
    repo = None
    if opts.offsite:
        repo = offsite_repository()
        if not repo:
            raise BackupError("no off-site repository is set (BACKUP_OFFSITE_BASE)")
    print(json.dumps(snapshots(opts.namespace, repo=repo)))


def metrics(opts):
    sys.stdout.write(write_metrics(opts, json.loads(opts.policy), load_state(opts.state, opts.namespace)))


def env_args(parser, *names, **required):
    """Options that default to their BACKUP_* environment variable (the backup service sets them)."""
    for name in names:
        value = os.environ.get("BACKUP_" + name.upper())
        parser.add_argument("--" + name.replace("_", "-"), default=value,
                            required=required.get(name, True) and value is None)


def _terminated(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("backup", "serve"):
        b = sub.add_parser(command)
        env_args(b, "namespace", "source", "snapshots", "state", "policy", "marker", "identity", snapshots=False)
    sub.choices["backup"].add_argument(
        "--last", action="store_true", help="the namespace's last backup before it is retired: tagged " + LAST_TAG
        + ", and nothing is pruned")
    r = sub.add_parser("restore")
    env_args(r, "namespace", "state", "marker", "identity", marker=False, identity=False)
    r.add_argument("--target", required=True)
    r.add_argument("--snapshot", default="latest", help="latest, a snapshot ID, or a time (the newest at or before)")
    r.add_argument("--path", action="append", help="restore only this path (relative to the namespace)")
    r.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    r.add_argument("--into", default=None,
                   help="the namespace the target is, when it is not the one restored (its marker is --identity's)")
    m = sub.add_parser("metrics")
    env_args(m, "namespace", "state", "policy")
    ls = sub.add_parser("snapshots")
    env_args(ls, "namespace")
    ls.add_argument("--offsite", action="store_true", help="the off-site copy's snapshots")
    sub.add_parser("repository", help="rclone serve restic, asking for the HTTP credentials; its options follow")
    sub.add_parser("hook-agent", help="the hook agent of this node (BACKUP_HOOKS, BACKUP_HOOK_PORT)")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hook-agent"]:
        try:
            hooks.serve_agent(int(os.environ.get("BACKUP_HOOK_PORT", "8001")),
                              json.loads(os.environ.get("BACKUP_HOOKS") or "{}"), http_password(),
                              os.environ.get("BACKUP_LABEL_PREFIX", "swarmdata") + ".backup-scaled-from")
        except (hooks.HookError, BackupError, ValueError) as exc:
            print("backup_runner: %s" % exc, file=sys.stderr)
        return 1
    if argv[:1] == ["repository"]:
        # rclone's own options follow as they are (argparse would take --addr for one of its own).
        try:
            return serve_repository(argv[1:])
        except BackupError as exc:
            print("backup_runner: %s" % exc, file=sys.stderr)
            return 1
    opts = parser.parse_args(argv)
    if opts.command in ("backup", "serve"):
        # docker stop (a service stopped, moved or updated) sends SIGTERM: as an exit, so that a run between its
        # hooks still scales its application back and runs post before it ends (the stack gives it the time).
        signal.signal(signal.SIGTERM, _terminated)
    try:
        # Each server's own credentials: the off-site server's cross the network, and open nothing in the cluster.
        for base_var, repo_var, password_var in (
                ("BACKUP_REPOSITORY_BASE", "RESTIC_REPOSITORY", "BACKUP_HTTP_PASSWORD_FILE"),
                ("BACKUP_OFFSITE_BASE", "BACKUP_OFFSITE_REPOSITORY", "BACKUP_OFFSITE_HTTP_PASSWORD_FILE")):
            if os.environ.get(base_var):
                os.environ[repo_var] = repository_url(os.environ[base_var], opts.namespace, http_password(password_var))
        if opts.command in ("backup", "restore"):
            with hold_lock(opts.namespace):
                {"backup": backup, "restore": restore}[opts.command](opts)
        else:
            {"serve": serve, "metrics": metrics, "snapshots": list_snapshots}[opts.command](opts)
    except BackupError as exc:
        print("backup_runner: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
