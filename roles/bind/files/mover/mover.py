"""The bind variant's mover, one program with three faces.

  mover receiver   on a replica: sshd that accepts only the mover key, forced to `mover accept`: the namespace's
                   fence is checked (fence.py), then rrsync -wo /data, or a snapshot is taken (snapshots.py)
  mover sender     on the primary: the change watcher (watcher.py: inotify, a set of changed paths per replica and
                   namespace, one rsync per batch) plus a periodic full reconcile; every transfer goes through
                   transfer(), which records, per replica and namespace, last success, duration, bytes and errors
                   as JSON and Prometheus text. transfer() is also the namespace guard's one checkpoint: it refuses
                   any transfer from a namespace whose marker is missing or carries another identity
                   (an unmounted disk, a reinstalled primary), so an empty source never becomes deletes.
  mover rsync ...  (installed as mover-rsync) one rsync of /data/<ns>/ to <receiver>:<ns>/ through transfer()

  mover snapshot NS   in a sender: a full pass to each replica, then a snapshot there, under the pair's lock
  mover sync NS [RECEIVER...] / mover diff NS RECEIVER   a full pass now / what a push would delete or overwrite

Configuration comes from the environment the stack sets; keys come from Swarm secrets.
"""

import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time

import fence
import snapshots
import watcher

STATE = os.environ.get("MOVER_STATE_DIR", "/state")
DATA = "/data"
KEY = "/run/secrets/mover_key"
KNOWN_HOSTS = "/etc/mover/known_hosts"
SSH_CONTROL_DIR = "/run/mover-ssh"
SUCCESS_CODES = (0, 24)  # 24: source files vanished during the run (they were deleted meanwhile)
REFUSED_CODE = 12  # what a refused transfer exits with: the watcher's sender retries it, never dies
GUARD_INTERVAL = 2.0  # seconds between the sender's checks of every namespace's marker and filesystem
# AES-GCM first: with AES-NI it costs less CPU per byte than OpenSSH's default chacha20-poly1305.
# mover-ssh: ssh started from / (rsync starts it inside the namespace directory, and the connection it keeps open
# outlives the transfer: from there it would keep the namespace's filesystem busy, so it could not be unmounted).
RSH = ("/usr/local/bin/mover-ssh -i %s -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s "
       "-o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 "
       "-o Ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com "
       # A connection per receiver kept for a while and shared by the rsyncs to it (rsh() gives its ControlPath): a
       # batch costs a session on it instead of a TCP connection and a key exchange.
       "-o ControlMaster=auto -o ControlPersist=60" % (KEY, KNOWN_HOSTS))
# A batch of this many changed paths or more is sent as a pass of the whole namespace (watcher.Pending).
FULL_PASS_PATHS = int(os.environ.get("MOVER_FULL_PASS_PATHS", "1000"))
FILTER_ARGS = ("--from0", "--include-from=-", "--exclude=*")  # a batch's paths, from its filter list on stdin
RSYNC_OPTS = ["--archive", "--hard-links", "--numeric-ids", "--delay-updates", "--delete"]
# What rsync exits with when ssh could not connect at all (a receiver whose task was just replaced is missing from
# the overlay's DNS on other nodes for a few seconds). The passes run on demand retry it for this long.
CONNECT_FAILED = 255
CONNECT_RETRY_SECONDS = float(os.environ.get("MOVER_CONNECT_RETRY_SECONDS", "30"))


def privilege_opts():
    """Unless bind_preserve_privileged: no setuid/setgid bits, no device or special files on the replicas."""
    if os.environ.get("MOVER_PRESERVE_PRIVILEGED", "false") == "true":
        return []
    return ["--chmod=ugo-s", "--no-devices", "--no-specials"]


def log(msg):
    sys.stderr.write("mover: %s\n" % msg)
    sys.stderr.flush()


def write_file(path, text, mode=0o600):
    """Replace ``path`` atomically; several rsync wrappers may write the same file at once."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


# ---------------------------------------------------------------- receiver
SSHD_CONFIG = """\
Port 22
HostKey /run/secrets/ssh_host_ed25519_key
AuthorizedKeysFile /etc/mover/authorized_keys
PermitRootLogin forced-commands-only
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PermitTTY no
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
# The sender's node and fence epoch (docs/failover.md), which `mover accept` checks before any write.
AcceptEnv MOVER_FENCE
X11Forwarding no
PermitTunnel no
PermitUserRC no
PermitUserEnvironment no
# The sender keeps one connection per claim and runs a session on it per namespace and transfer (rsh()).
MaxSessions 64
UsePAM no
PrintMotd no
LogLevel INFO
"""


def receiver():
    public_key = os.environ["MOVER_PUBLIC_KEY"].strip()
    if not re.match(r"^ssh-ed25519 [A-Za-z0-9+/=]+( .*)?$", public_key):
        raise SystemExit("MOVER_PUBLIC_KEY is not an ssh-ed25519 public key")
    # restrict: no pty, no forwarding; the forced command checks the fence, then runs rrsync -wo: the key can only
    # write into /data, never read or run anything else (see accept()).
    write_file("/etc/mover/authorized_keys", 'command="/usr/local/bin/mover-accept",restrict %s\n' % public_key)
    # sshd gives the forced command a bare environment: what it checks comes from this file.
    config = dict((k, os.environ.get(k, "")) for k in RECEIVER_ENV)
    write_file(RECEIVER_CONFIG, json.dumps(config, sort_keys=True), 0o600)
    write_file("/etc/ssh/sshd_mover_config", SSHD_CONFIG)
    os.makedirs("/run/sshd", exist_ok=True)
    subprocess.check_call(["/usr/sbin/sshd", "-t", "-f", "/etc/ssh/sshd_mover_config"])
    os.execv("/usr/sbin/sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_mover_config"])


def container_log(msg):
    """A line in the receiver's container log (sshd's child has no stderr of its own there)."""
    try:
        with open("/proc/1/fd/2", "w") as handle:
            handle.write("mover: %s\n" % msg)
    except OSError:
        pass


RECEIVER_CONFIG = "/etc/mover/receiver.json"
RECEIVER_ENV = ("MOVER_NODE", "MOVER_FENCES", "MOVER_SNAPSHOT_KEEP")


def accept():
    """The receiver's forced command: check the push against the namespace's fence, then hand it to rrsync.

    -no-lock: rrsync's default lock lets one push at a time per user, so the live batch, the reconcile and the
    other namespaces would fail each other; rsync's --delay-updates already keeps each file's update atomic.
    """
    try:
        with open(RECEIVER_CONFIG) as handle:
            os.environ.update(json.load(handle))
    except (OSError, ValueError):
        pass  # no fence known: every push is refused below
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    me = os.environ.get("MOVER_NODE", "")
    sender_node, epoch = fence.claim(os.environ.get("MOVER_FENCE"))
    words = command.split()
    if len(words) == 2 and words[0] == "mover-snapshot":
        namespace, dry_run = words[1], False
    else:
        parsed = fence.parse_push(command)
        if parsed is None:
            container_log("REFUSED a command from %s that is not an rsync push into a namespace" % sender_node)
            sys.stderr.write("mover: refused: not an rsync push into a namespace\n")
            return REFUSED_CODE
        namespace, dry_run = parsed
    reason = fence.accepts(fence.fences().get(namespace), sender_node, epoch, me, dry_run=dry_run)
    if reason is not None:
        msg = "REFUSED a push into namespace %s on %s from %s: %s" % (namespace, me, sender_node, reason)
        container_log(msg)
        sys.stderr.write("mover: %s\n" % msg)
        return REFUSED_CODE
    if words[0] == "mover-snapshot":
        keep = int(json.loads(os.environ.get("MOVER_SNAPSHOT_KEEP", "{}")).get(namespace, 1))
        try:
            result = snapshots.take(namespace, keep, data=DATA)
        except (RuntimeError, OSError) as exc:
            container_log("snapshot of %s failed: %s" % (namespace, exc))
            sys.stderr.write("mover: snapshot of %s failed: %s\n" % (namespace, exc))
            return 1
        container_log("snapshot %s of %s taken (%s, %s bytes copied, %d kept%s)" % (
            result["snapshot"], namespace, result["kind"], result["bytes_copied"], result["count"],
            "; btrfs refused its own snapshot: %s" % result["btrfs_refused"] if result["btrfs_refused"] else ""))
        print(json.dumps(result, sort_keys=True))
        return 0
    os.execv("/usr/bin/rrsync", ["rrsync", "-wo", "-no-lock", DATA])
    return 1


# ---------------------------------------------------------------- namespace guard
def namespace_ids():
    """{namespace: identity} from MOVER_NAMESPACE_IDS ("wiki=<uuid> db=<uuid>"), the cluster's record."""
    return dict(p.split("=", 1) for p in os.environ.get("MOVER_NAMESPACE_IDS", "").split() if "=" in p)


def check_namespace(ns, ids=None, data=None, dir_fd=None):
    """None if the primary's copy of ``ns`` may be the source of a sync, else why not. With ``dir_fd`` (the
    namespace directory, opened), the marker is read in that very directory, whatever is mounted at its path."""
    ids = namespace_ids() if ids is None else ids
    data = DATA if data is None else data
    expected = ids.get(ns)
    marker_name = os.environ.get("MOVER_MARKER", ".swarmdata-id")
    marker = os.path.join(data, ns, marker_name)
    if not expected:
        return "the cluster holds no identity for it (run site.yml)"
    try:
        if dir_fd is not None:
            with os.fdopen(os.open(marker_name, os.O_RDONLY, dir_fd=dir_fd), encoding="utf-8",
                           errors="replace") as handle:
                found = handle.read(4096).strip()
        else:
            with open(marker, encoding="utf-8", errors="replace") as handle:
                found = handle.read(4096).strip()
    except (OSError, IOError) as exc:
        if dir_fd is None and not os.path.isdir(os.path.join(data, ns)):
            return "its directory is missing"
        return "its marker %s is missing (%s)" % (os.path.basename(marker), exc.strerror or exc)
    if found != expected:
        return "its marker holds identity %s, the cluster's is %s" % (found[:36], expected)
    return None


def refusal_message(ns, reason):
    node = os.environ.get("MOVER_NODE", "the primary")
    return ("REFUSED namespace %s on %s: %s. Nothing is sent to the replicas, so they keep their data. Check "
            "that the namespace's disk is mounted at %s on %s; replication resumes by itself once the data "
            "is back. To accept this copy as it is (the replicas will then match it), run "
            "playbooks/accept_namespace.yml -e namespace=%s -e host=%s -e confirm=%s"
            % (ns, node, reason, os.path.join(os.environ.get("MOVER_ROOT", "<root>"), "namespaces", ns), node,
               ns, node, ns))


def write_guard(states):
    """guard.json and the refusal metric: {namespace: None or the reason it is refused}."""
    node = os.environ.get("MOVER_NODE", "")
    now = time.time()
    guard = dict((ns, {"namespace": ns, "node": node, "refused": reason is not None, "reason": reason,
                       "checked": now}) for ns, reason in states.items())
    write_file(os.path.join(STATE, "bind", "guard.json"), json.dumps(guard, sort_keys=True), 0o644)
    write_metrics()


def namespace_fs(ns):
    """(device, inode) of the namespace directory: changes when a disk is mounted over it or unmounted."""
    try:
        st = os.stat(os.path.join(DATA, ns))
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def guard_loop(namespaces, states, stop):
    """Exit (Swarm restarts the sender, which begins with a full sync) when any namespace changes state."""
    seen = dict((ns, namespace_fs(ns)) for ns in namespaces)
    while True:
        time.sleep(GUARD_INTERVAL)
        try:
            changed = guard_pass(namespaces, states, seen)
        except Exception as exc:  # pylint: disable=broad-except  # never leave the sender unwatched
            log("the namespace guard failed (%s); restarting to watch afresh" % exc)
            changed = "guard"
        if changed:
            stop(changed)
            return


def guard_pass(namespaces, states, seen):
    """The namespace whose state changed since the sender started, or None."""
    for ns in namespaces:
        reason = check_namespace(ns)
        if reason != states[ns] or namespace_fs(ns) != seen[ns]:
            if reason is None:
                log("namespace %s on %s is back (marker and identity match); restarting to resume with a full "
                    "sync" % (ns, os.environ.get("MOVER_NODE", "the primary")))
            elif states[ns] is None:
                log(refusal_message(ns, reason))
                states[ns] = reason
                write_guard(states)
            else:
                log("namespace %s: its filesystem changed; restarting to watch it afresh" % ns)
            return ns
    return None


# ---------------------------------------------------------------- sender
def own_fence(ns):
    """(epoch, fence) of a namespace as this sender's stack gave it."""
    f = fence.fences().get(ns) or {}
    return int(f.get("epoch", 0)), f


def rsh(ns):
    """The ssh command of pushes of ``ns``: it carries this node and the namespace's fence epoch.

    Every session on a shared connection carries the SetEnv of the ssh that opened the connection, not its own
    (OpenSSH's master sends its own), so each claim gets a connection of its own: two namespaces at different
    epochs never share one, and a push never claims another namespace's epoch."""
    claim = "%s:%d" % (os.environ.get("MOVER_NODE", ""), own_fence(ns)[0])
    os.makedirs(SSH_CONTROL_DIR, mode=0o700, exist_ok=True)
    control = os.path.join(SSH_CONTROL_DIR, "%s-%%C" % hashlib.sha256(claim.encode()).hexdigest()[:16])
    return "%s -o ControlPath=%s -o SetEnv=MOVER_FENCE=%s" % (RSH, control, claim)


def push_targets(ns):
    """The receivers ``ns`` is pushed to: the stack's targets, less the hosts its fence holds off until failback."""
    fenced = set(own_fence(ns)[1].get("fenced", []))
    names = replica_names()
    try:
        targets = json.loads(os.environ.get("MOVER_TARGETS", "") or "{}").get(ns)
    except ValueError:
        targets = None
    if targets is None:
        targets = sorted(names)
    return [r for r in targets if names.get(r, r) not in fenced]


def batch_cmd(ns, receiver, whole=True):
    """The rsync arguments of one transfer of ``ns`` to ``receiver``: a pass of the whole namespace, or (``whole``
    false) only the paths of a filter list on stdin (watcher.filter_list())."""
    return (RSYNC_OPTS + privilege_opts() + ([] if whole else list(FILTER_ARGS))
            + ["-e", rsh(ns), "%s/%s/" % (DATA, ns), "%s:%s/" % (receiver, ns)])


def full_pass_cmd(ns, receiver):
    return ["/usr/local/bin/mover-rsync"] + batch_cmd(ns, receiver)


def send_batch(ns, receiver, whole, changes):
    """One of the watcher's batches, under the pair's lock and the guard's check (transfer())."""
    stdin = None if whole else watcher.filter_list(changes)
    with pair_lock(receiver, ns):
        started = time.time()
        rc = transfer(batch_cmd(ns, receiver, whole), receiver, ns, stdin=stdin)
    if whole and rc in SUCCESS_CODES:
        log("a pass of the whole namespace %s to %s: done in %.1f s" % (ns, receiver, time.time() - started))
    return rc


def reconcile_loop(pendings, interval):
    """Every ``interval`` s, a pass of the whole namespace to each replica, through its sender (so after what it is
    sending, never beside it)."""
    while True:
        time.sleep(interval)
        for pending in pendings:
            pending.everything(now=True)


# ---------------------------------------------------------------- snapshots, passes on demand, failback's diff
def snapshot_policy():
    """{namespace: {"interval": seconds (0: none), "keep": count}} from MOVER_SNAPSHOTS (JSON)."""
    try:
        return json.loads(os.environ.get("MOVER_SNAPSHOTS", "") or "{}")
    except ValueError:
        return {}


def snapshot_state_path(host, ns):
    return os.path.join(STATE, "bind-snapshots", host, ns + ".json")


def until_connected(attempt, *args):
    """``attempt(*args)`` again while it returns rsync's exit code (or a CompletedProcess with it) for "ssh could
    not connect", for CONNECT_RETRY_SECONDS at most. Returns the last result."""
    deadline = time.time() + CONNECT_RETRY_SECONDS
    while True:
        result = attempt(*args)
        rc = getattr(result, "returncode", result)
        if rc != CONNECT_FAILED or time.time() >= deadline:
            return result
        time.sleep(2)


def snapshot_namespace(ns, receivers=None):
    """Per replica: a full pass that starts now (so after the request), then a snapshot of what it left there,
    both under the pair's lock, so no live batch lands between the two. Returns {host: result or error}."""
    names = replica_names()
    results = {}
    for receiver in (receivers or push_targets(ns)):
        host = names.get(receiver, receiver)
        with pair_lock(receiver, ns):
            rc = until_connected(transfer, full_pass_cmd(ns, receiver)[1:], receiver, ns)
            if rc not in SUCCESS_CODES:
                results[host] = {"error": "the pass before the snapshot failed (rsync exit %d)" % rc}
                continue
            proc = subprocess.run(shlex.split(rsh(ns)) + [receiver, "mover-snapshot %s" % ns],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            results[host] = {"error": "the snapshot failed: %s" % (proc.stderr.strip()[-300:] or proc.returncode)}
            continue
        result["replica"] = host
        results[host] = result
    now = time.time()
    for host, result in results.items():
        # A failed attempt is recorded too (the schedule waits a whole interval before it tries again); the last
        # snapshot taken stays what it was.
        entry = dict(read_snapshot_state(host, ns), attempted=now) if "error" in result else dict(result, attempted=now)
        entry.update(namespace=ns, replica=host, last_error=result.get("error"))
        os.makedirs(os.path.dirname(snapshot_state_path(host, ns)), exist_ok=True)
        write_file(snapshot_state_path(host, ns), json.dumps(entry, sort_keys=True), 0o644)
    write_metrics()
    return results


def read_snapshot_state(host, ns):
    try:
        with open(snapshot_state_path(host, ns)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def snapshot_loop(namespaces):
    """Take each namespace's scheduled snapshots (MOVER_SNAPSHOTS), checking every 15 s which are due."""
    policy = snapshot_policy()
    while True:
        time.sleep(15)
        for ns in namespaces:
            interval = int((policy.get(ns) or {}).get("interval", 0))
            if interval <= 0:
                continue
            # Each replica on its own schedule: one that is down does not make the others snapshot (and prune)
            # every 15 s, and its failed attempt waits a whole interval too.
            names = replica_names()
            receivers = [r for r in push_targets(ns) if due(
                read_snapshot_state(names.get(r, r), ns).get("attempted", 0), interval, time.time())]
            if receivers:
                for host, result in sorted(snapshot_namespace(ns, receivers).items()):
                    if "error" in result:
                        log("scheduled snapshot of %s on %s: %s" % (ns, host, result["error"]))


def due(latest, interval, now):
    """Whether a snapshot taken at ``latest`` (0: none yet) is ``interval`` old or older at ``now``."""
    return interval > 0 and now - latest >= interval


def sync_now(ns, receivers=None):
    """A full pass of ``ns`` to each receiver now (a planned switchover's final sync). Returns {host: result}."""
    names = replica_names()
    results = {}
    for receiver in (receivers or push_targets(ns)):
        rc = until_connected(quiet, full_pass_cmd(ns, receiver))
        try:
            with open(os.path.join(STATE, "bind", names.get(receiver, receiver), ns + ".json")) as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            entry = {}
        results[names.get(receiver, receiver)] = {"exit_code": rc, "bytes_sent": entry.get("last_bytes_sent"),
                                                  "ok": rc in SUCCESS_CODES}
    return results


def diff(ns, receiver):
    """What a push of ``ns`` to ``receiver`` would delete or overwrite there: a dry run, nothing is written."""
    cmd = ["/usr/bin/rsync"] + RSYNC_OPTS + privilege_opts() + [
        "--dry-run", "--itemize-changes", "-e", rsh(ns), "%s/%s/" % (DATA, ns), "%s:%s/" % (receiver, ns)]
    proc = until_connected(capture, cmd)
    if proc.returncode not in SUCCESS_CODES:
        raise SystemExit("dry run of %s to %s failed (rsync exit %d): %s"
                         % (ns, receiver, proc.returncode, proc.stderr.strip()[-400:]))
    return {"namespace": ns, "receiver": receiver, "paths": snapshots.diverged_paths(proc.stdout),
            "changes": len(proc.stdout.splitlines())}


def quiet(cmd):
    return subprocess.call(cmd, stdout=subprocess.DEVNULL)


def capture(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)


def replica_names():
    """{receiver service: inventory host} from MOVER_REPLICAS ("recv-a=host-a recv-b=host-b")."""
    return dict(pair.split("=", 1) for pair in os.environ.get("MOVER_REPLICAS", "").split())


def sender():
    namespaces = os.environ.get("MOVER_NAMESPACES", "").split()
    targets = dict((ns, push_targets(ns)) for ns in namespaces)
    replicas = sorted(set(r for t in targets.values() for r in t))
    delay = float(os.environ.get("MOVER_DELAY", "0.25"))
    interval = float(os.environ.get("MOVER_RECONCILE_INTERVAL", "300"))
    os.makedirs(os.path.join(STATE, "bind"), exist_ok=True)
    os.makedirs("/etc/mover", exist_ok=True)
    write_file(KNOWN_HOSTS, os.environ["MOVER_KNOWN_HOSTS"].strip() + "\n", 0o644)
    if not namespaces or not replicas:
        log("nothing to replicate (namespaces=%s replicas=%s); idling" % (namespaces, replicas))
        while True:
            time.sleep(3600)
    states = dict((ns, check_namespace(ns)) for ns in namespaces)
    write_guard(states)
    for ns, reason in sorted(states.items()):
        if reason is not None:
            log(refusal_message(ns, reason))
    allowed = [ns for ns in namespaces if states[ns] is None and targets[ns]]
    restart = threading.Event()
    failed = []

    def stop(_reason):
        restart.set()

    def thread(target, *args):
        def run():
            try:
                target(*args)
            except Exception as exc:  # pylint: disable=broad-except  # a watcher or sender gone: start afresh
                log("%s failed (%s); exiting so Swarm restarts the sender (the restart does a full sync)"
                    % (target.__name__, exc))
                failed.append(exc)
                restart.set()
        threading.Thread(target=run, daemon=True).start()

    pendings = []
    for ns in allowed:
        tree = watcher.Namespace(os.path.join(DATA, ns))
        tree.start()  # every directory watched before the startup sync begins: no change falls between the two
        mine = [watcher.Pending(FULL_PASS_PATHS) for _receiver in targets[ns]]
        for receiver, pending in zip(targets[ns], mine, strict=True):
            thread(watcher.send_loop, pending, delay,
                   lambda whole, changes, ns=ns, receiver=receiver: send_batch(ns, receiver, whole, changes),
                   "%s to %s" % (ns, receiver), log)
        thread(watcher.watch, tree, os.path.join(DATA, ns), mine, log)
        pendings += mine
    if allowed:
        if interval > 0:
            thread(reconcile_loop, pendings, interval)
        thread(snapshot_loop, allowed)
    else:
        log("every namespace is refused; sending nothing until one is back")
    thread(guard_loop, namespaces, states, stop)
    restart.wait()
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------- rsync wrapper + status
STAT_PATTERNS = {
    "bytes_sent": re.compile(r"^Total bytes sent: ([\d,]+)", re.M),
    "files_transferred": re.compile(r"^Number of regular files transferred: ([\d,]+)", re.M),
    "files_total": re.compile(r"^Number of files: ([\d,]+)", re.M),
}


def record(replica, namespace, rc, started, duration, stats):
    directory = os.path.join(STATE, "bind", replica)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, namespace + ".json")
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            entry = {"replica": replica, "namespace": namespace, "runs_total": 0, "errors_total": 0,
                     "bytes_sent_total": 0, "last_success": None}
        entry["runs_total"] += 1
        entry["last_attempt"] = started
        entry["last_exit_code"] = rc
        entry["bytes_sent_total"] += stats.get("bytes_sent", 0)
        if rc in SUCCESS_CODES:
            entry["last_success"] = started + duration
            entry["last_duration_seconds"] = round(duration, 3)
            entry["last_bytes_sent"] = stats.get("bytes_sent", 0)
            entry["last_files_transferred"] = stats.get("files_transferred", 0)
            entry["files_total"] = stats.get("files_total", entry.get("files_total", 0))
        else:
            entry["errors_total"] += 1
        write_file(path, json.dumps(entry, sort_keys=True), 0o644)
        write_metrics()


def write_metrics():
    metrics = [
        ("swarmdata_bind_last_success_timestamp_seconds", "gauge", "last_success",
         "Unix time of the last successful sync"),
        ("swarmdata_bind_last_duration_seconds", "gauge", "last_duration_seconds",
         "Duration of the last successful sync"),
        ("swarmdata_bind_last_bytes_sent", "gauge", "last_bytes_sent", "Bytes sent by the last successful sync"),
        ("swarmdata_bind_bytes_sent_total", "counter", "bytes_sent_total", "Bytes sent by all syncs"),
        ("swarmdata_bind_syncs_total", "counter", "runs_total", "Sync runs"),
        ("swarmdata_bind_sync_errors_total", "counter", "errors_total", "Failed sync runs"),
        ("swarmdata_bind_last_exit_code", "gauge", "last_exit_code", "rsync exit code of the last run"),
    ]
    entries = []
    for path in sorted(glob.glob(os.path.join(STATE, "bind", "*", "*.json"))):  # <replica>/<namespace>.json
        try:
            with open(path) as handle:
                entries.append(json.load(handle))
        except (OSError, ValueError):
            continue
    out = []
    try:
        with open(os.path.join(STATE, "bind", "guard.json")) as handle:
            guard = json.load(handle)
    except (OSError, ValueError):
        guard = {}
    if guard:
        out.append("# HELP swarmdata_namespace_refused 1 while the namespace's copy on the node is refused as a "
                   "sync source (marker missing or foreign)")
        out.append("# TYPE swarmdata_namespace_refused gauge")
        for ns, g in sorted(guard.items()):
            out.append('swarmdata_namespace_refused{namespace="%s",node="%s"} %d' % (ns, g["node"], g["refused"]))
    for name, kind, key, help_text in metrics:
        out.append("# HELP %s %s" % (name, help_text))
        out.append("# TYPE %s %s" % (name, kind))
        for e in entries:
            if e.get(key) is not None:
                out.append('%s{replica="%s",namespace="%s"} %s' % (name, e["replica"], e["namespace"], e[key]))
    out += failover_metrics(entries)
    write_file(os.path.join(STATE, "bind", "metrics.prom"), "\n".join(out) + "\n", 0o644)


def failover_metrics(entries):
    """Per namespace of this sender: its fence epoch; per replica: out of sync, and the latest snapshot's time."""
    out = []
    namespaces = os.environ.get("MOVER_NAMESPACES", "").split()
    names = replica_names()
    if namespaces:
        out.append("# HELP swarmdata_fence_epoch The namespace's fencing epoch (grows with every failover, failback)")
        out.append("# TYPE swarmdata_fence_epoch gauge")
        for ns in namespaces:
            out.append('swarmdata_fence_epoch{namespace="%s",primary="%s"} %d'
                       % (ns, os.environ.get("MOVER_NODE", ""), own_fence(ns)[0]))
    last = dict(((e["replica"], e["namespace"]), e) for e in entries)
    rows = []
    for ns in namespaces:
        fenced = set(own_fence(ns)[1].get("fenced", []))
        for receiver in sorted(names):
            host = names[receiver]
            if receiver not in push_targets(ns) and host not in fenced:
                continue
            e = last.get((host, ns), {})
            # Out of sync: fenced, never synced, or the last attempt failed or is newer than the last success.
            stale = host in fenced or e.get("last_success") is None or e.get("last_exit_code") not in SUCCESS_CODES
            rows.append('swarmdata_replication_out_of_sync{namespace="%s",replica="%s"} %d' % (ns, host, stale))
    if rows:
        out.append("# HELP swarmdata_replication_out_of_sync 1 while the replica's copy is not known to match the "
                   "primary (fenced, never synced, or its last sync failed)")
        out.append("# TYPE swarmdata_replication_out_of_sync gauge")
        out += rows
    snaps = []
    for path in sorted(glob.glob(os.path.join(STATE, "bind-snapshots", "*", "*.json"))):
        try:
            with open(path) as handle:
                snap = json.load(handle)
        except (OSError, ValueError):
            continue
        if snap.get("namespace") not in namespaces or not snap.get("snapshot"):
            continue  # a namespace this node no longer sends (failed over), or no snapshot taken yet
        snaps.append('swarmdata_snapshot_latest_timestamp_seconds{namespace="%s",replica="%s"} %s'
                     % (snap["namespace"], snap["replica"], snap["time"]))
        snaps.append('swarmdata_snapshots{namespace="%s",replica="%s"} %s'
                     % (snap["namespace"], snap["replica"], snap["count"]))
    if snaps:
        out.append("# HELP swarmdata_snapshot_latest_timestamp_seconds Unix time of the replica's latest snapshot")
        out.append("# TYPE swarmdata_snapshot_latest_timestamp_seconds gauge")
        out.append("# HELP swarmdata_snapshots Snapshots of the namespace kept on the replica")
        out.append("# TYPE swarmdata_snapshots gauge")
        out += snaps
    return out


def rsync_wrapper(args):
    # Never --ignore-errors: with it, an I/O error on the source (a failing disk) would still delete on the
    # replicas. Without it rsync skips the deletions when it meets I/O errors.
    args = [a for a in args if a != "--ignore-errors"]
    target = args[-1] if args else ""
    m = re.match(r"^([^:/]+):([^/]+)/?$", target)
    source = re.match(r"^%s/([^/]+)/?$" % re.escape(DATA), args[-2] if len(args) > 1 else "")
    if m and (not source or source.group(1) != m.group(2).rstrip("/")):
        # Every transfer to a replica goes from /data/<ns>/ to <receiver>:<ns>/; anything else is not checked,
        # so it is not sent.
        log("REFUSED a transfer to %s from %s: not /data/<namespace>/ to the same namespace"
            % (target, args[-2] if len(args) > 1 else "nothing"))
        return REFUSED_CODE
    if not m:
        if source and check_namespace(source.group(1)) is not None:
            log(refusal_message(source.group(1), check_namespace(source.group(1))))
            return REFUSED_CODE
        return subprocess.run(["/usr/bin/rsync"] + args, check=False).returncode
    # One transfer at a time per replica and namespace: a pass run on demand (mover sync) with --delete and a live
    # batch racing on one replica could delete a file the batch had just sent. Waiting, never failing.
    with pair_lock(m.group(1), m.group(2).rstrip("/")):
        return transfer(args, m.group(1), m.group(2).rstrip("/"), echo=True)


class pair_lock(object):
    """The lock of one replica and namespace (a flock under /state, shared by every process of the sender)."""

    def __init__(self, receiver, ns):
        directory = os.path.join(STATE, "bind", "locks")
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "%s.%s.lock" % (receiver, ns))
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()


def transfer(args, receiver, ns, echo=False, stdin=None):
    """One rsync of /data/<ns>/ to ``receiver`` (its lock held), after the guard's check; records its status.

    The namespace directory is opened first, its marker checked in it, and rsync reads that same directory (as
    its working directory, "./"). An empty filesystem mounted over the path, or the disk unmounted, after the
    check cannot become the source of this transfer: it would otherwise list nothing and delete everything."""
    try:
        dir_fd = os.open(os.path.join(DATA, ns), os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        log(refusal_message(ns, "its directory is missing"))
        return REFUSED_CODE
    try:
        reason = check_namespace(ns, dir_fd=dir_fd)  # checked under the lock, just before the transfer
        if reason is not None:
            log(refusal_message(ns, reason))
            return REFUSED_CODE
        started = time.time()
        # cwd through /proc/self/fd: the child enters the open directory itself (no preexec_fn, which is unsafe
        # in the sender's threads).
        proc = subprocess.run(["/usr/bin/rsync", "--stats"] + args[:-2] + ["./", args[-1]], stdout=subprocess.PIPE,
                              input=stdin, check=False, pass_fds=(dir_fd,), cwd="/proc/self/fd/%d" % dir_fd)
    finally:
        os.close(dir_fd)
    duration = time.time() - started
    output = proc.stdout.decode("utf-8", "replace")
    if echo:
        sys.stdout.write(output)
    stats = {}
    for key, pattern in STAT_PATTERNS.items():
        found = pattern.search(output)
        if found:
            stats[key] = int(found.group(1).replace(",", ""))
    record(replica_names().get(receiver, receiver), ns, proc.returncode, started, duration, stats)
    return proc.returncode


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "rsync":
        sys.exit(rsync_wrapper(sys.argv[2:]))
    if command == "accept":
        sys.exit(accept())
    if command in ("snapshot", "sync", "diff"):
        ns, receivers = sys.argv[2], sys.argv[3:]
        if command == "snapshot":
            result = snapshot_namespace(ns, receivers or None)
        elif command == "sync":
            result = sync_now(ns, receivers or None)
        else:
            result = diff(ns, receivers[0])
        print(json.dumps(result, sort_keys=True))
        failed = command == "snapshot" and any("error" in r for r in result.values()) or \
            command == "sync" and not all(r["ok"] for r in result.values())
        sys.exit(1 if failed else 0)
    if command in ("promote", "aside", "list"):
        snapshots.main(sys.argv[1:])
        return
    if command == "receiver":
        receiver()
    elif command == "sender":
        sender()
    elif command == "metrics":
        write_metrics()
    else:
        raise SystemExit("usage: mover receiver|sender|accept|metrics|rsync RSYNC-ARGS|snapshot|sync|diff|"
                         "promote|aside|list ...")


if __name__ == "__main__":
    main()
