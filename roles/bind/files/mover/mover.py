"""The bind variant's mover, one program with three faces.

  mover receiver   on a replica: sshd that accepts only the mover key, forced to rrsync -wo /data
  mover sender     on the primary: lsyncd (inotify, batched, one rsync per batch per replica and namespace)
                   plus a periodic full reconcile; exits if lsyncd exits so Swarm restarts it (a restart
                   begins with lsyncd's full startup sync, which is also how a watch-queue overflow is healed)
  mover rsync ...  (installed as mover-rsync) the rsync that lsyncd and the reconcile call: runs rsync --stats
                   and records, per replica and namespace, last success, duration, bytes and errors
                   as JSON and Prometheus text. It is also the namespace guard's one checkpoint: it refuses
                   any transfer from a namespace whose marker is missing or carries another identity
                   (an unmounted disk, a reinstalled primary), so an empty source never becomes deletes.

Configuration comes from the environment the stack sets; keys come from Swarm secrets.
"""

import fcntl
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

STATE = os.environ.get("MOVER_STATE_DIR", "/state")
DATA = "/data"
KEY = "/run/secrets/mover_key"
KNOWN_HOSTS = "/etc/mover/known_hosts"
SUCCESS_CODES = (0, 24)  # 24: source files vanished during the run (they were deleted meanwhile)
REFUSED_CODE = 12  # what mover-rsync exits with for a refused namespace: lsyncd retries it ("again"), never dies
GUARD_INTERVAL = 2.0  # seconds between the sender's checks of every namespace's marker and filesystem
# AES-GCM first: with AES-NI it costs less CPU per byte than OpenSSH's default chacha20-poly1305.
RSH = ("/usr/bin/ssh -i %s -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s "
       "-o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 "
       "-o Ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com" % (KEY, KNOWN_HOSTS))
RSYNC_OPTS = ["--archive", "--hard-links", "--numeric-ids", "--delay-updates", "--delete"]


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
X11Forwarding no
PermitTunnel no
PermitUserRC no
PermitUserEnvironment no
UsePAM no
PrintMotd no
LogLevel INFO
"""


def receiver():
    public_key = os.environ["MOVER_PUBLIC_KEY"].strip()
    if not re.match(r"^ssh-ed25519 [A-Za-z0-9+/=]+( .*)?$", public_key):
        raise SystemExit("MOVER_PUBLIC_KEY is not an ssh-ed25519 public key")
    # restrict: no pty, no forwarding; rrsync -wo: the key can only write into /data, never read or run anything else.
    # -no-lock: rrsync's default lock lets one push at a time per user, so the live batch, the reconcile and the
    # other namespaces would fail each other; rsync's --delay-updates already keeps each file's update atomic.
    write_file("/etc/mover/authorized_keys",
               'command="/usr/bin/rrsync -wo -no-lock %s",restrict %s\n' % (DATA, public_key))
    write_file("/etc/ssh/sshd_mover_config", SSHD_CONFIG)
    os.makedirs("/run/sshd", exist_ok=True)
    subprocess.check_call(["/usr/sbin/sshd", "-t", "-f", "/etc/ssh/sshd_mover_config"])
    os.execv("/usr/sbin/sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_mover_config"])


# ---------------------------------------------------------------- namespace guard
def namespace_ids():
    """{namespace: identity} from MOVER_NAMESPACE_IDS ("wiki=<uuid> db=<uuid>"), the cluster's record."""
    return dict(p.split("=", 1) for p in os.environ.get("MOVER_NAMESPACE_IDS", "").split() if "=" in p)


def check_namespace(ns, ids=None, data=None):
    """None if the primary's copy of ``ns`` may be the source of a sync, else why not."""
    ids = namespace_ids() if ids is None else ids
    data = DATA if data is None else data
    expected = ids.get(ns)
    marker = os.path.join(data, ns, os.environ.get("MOVER_MARKER", ".swarmdata-id"))
    if not expected:
        return "the cluster holds no identity for it (run site.yml)"
    try:
        with open(marker, encoding="utf-8", errors="replace") as handle:
            found = handle.read(4096).strip()
    except (OSError, IOError) as exc:
        if not os.path.isdir(os.path.join(data, ns)):
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
def lua_string(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def lsyncd_config(namespaces, replicas, delay):
    lines = [
        "settings {",
        "  nodaemon = true,",
        "  insist = true,",  # keep retrying a replica that is down instead of giving up
        "  inotifyMode = %s," % lua_string("CloseWrite"),  # a file counts once it is closed, never half-written
        "  statusFile = %s," % lua_string(os.path.join(STATE, "bind", "lsyncd.status")),
        "  statusInterval = 10,",
        "  maxProcesses = %d," % max(1, len(namespaces) * len(replicas)),
        "}",
    ]
    for ns in namespaces:
        for replica in replicas:
            lines += [
                "sync {",
                "  default.rsync,",
                "  source = %s," % lua_string("%s/%s/" % (DATA, ns)),
                "  target = %s," % lua_string("%s:%s/" % (replica, ns)),
                "  delay = %s," % delay,
                "  delete = true,",
                "  rsync = {",
                "    binary = %s," % lua_string("/usr/local/bin/mover-rsync"),
                "    archive = true,",
                "    hard_links = true,",
                # rrsync must read the server's arguments to confine them; --protect-args would hide them.
                "    protect_args = false,",
                "    rsh = %s," % lua_string(RSH),
                "    _extra = { %s }," % ", ".join(
                    lua_string(o) for o in ["--numeric-ids", "--delay-updates"] + privilege_opts()),
                "  },",
                "}",
            ]
    return "\n".join(lines) + "\n"


def reconcile_loop(namespaces, replicas, interval):
    while True:
        time.sleep(interval)
        for ns in namespaces:
            for replica in replicas:
                source, target = "%s/%s/" % (DATA, ns), "%s:%s/" % (replica, ns)
                cmd = ["/usr/local/bin/mover-rsync"] + RSYNC_OPTS + privilege_opts() + ["-e", RSH, source, target]
                rc = subprocess.call(cmd, stdout=subprocess.DEVNULL)
                if rc not in SUCCESS_CODES:
                    log("reconcile of %s to %s failed (rsync exit %d); the next one retries" % (ns, replica, rc))


def replica_names():
    """{receiver service: inventory host} from MOVER_REPLICAS ("recv-a=host-a recv-b=host-b")."""
    return dict(pair.split("=", 1) for pair in os.environ.get("MOVER_REPLICAS", "").split())


def sender():
    namespaces = os.environ.get("MOVER_NAMESPACES", "").split()
    replicas = sorted(replica_names())
    delay = float(os.environ.get("MOVER_DELAY", "1"))
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
    allowed = [ns for ns in namespaces if states[ns] is None]
    proc = None
    if allowed:
        write_file("/etc/mover/lsyncd.conf.lua", lsyncd_config(allowed, replicas, "%g" % delay), 0o644)
        if interval > 0:
            threading.Thread(target=reconcile_loop, args=(allowed, replicas, interval), daemon=True).start()
        proc = subprocess.Popen(["/usr/bin/lsyncd", "-nodaemon", "/etc/mover/lsyncd.conf.lua"])
    restart = threading.Event()

    def stop(_ns):
        restart.set()
        if proc is not None:
            proc.terminate()

    threading.Thread(target=guard_loop, args=(namespaces, states, stop), daemon=True).start()
    if proc is None:
        log("every namespace is refused; sending nothing until one is back")
        restart.wait()
        sys.exit(0)
    rc = proc.wait()
    if restart.is_set():
        sys.exit(0)
    log("lsyncd exited with %d; exiting so Swarm restarts the sender (the restart does a full sync)" % rc)
    sys.exit(rc or 1)


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
    write_file(os.path.join(STATE, "bind", "metrics.prom"), "\n".join(out) + "\n", 0o644)


def rsync_wrapper(args):
    # lsyncd adds --ignore-errors to its deleting passes: with it, an I/O error on the source (a failing disk)
    # would still delete on the replicas. Without it rsync skips the deletions when it meets I/O errors.
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
    lock = None
    if m:
        # One transfer at a time per replica and namespace: a full pass (the reconcile) with --delete and a live
        # batch racing on one replica could delete a file the batch had just sent. Waiting, never failing.
        directory = os.path.join(STATE, "bind", "locks")
        os.makedirs(directory, exist_ok=True)
        lock = open(os.path.join(directory, "%s.%s.lock" % (m.group(1), m.group(2).rstrip("/"))), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if source:
            reason = check_namespace(source.group(1))  # checked under the lock, just before the transfer
            if reason is not None:
                log(refusal_message(source.group(1), reason))
                return REFUSED_CODE
        started = time.time()
        proc = subprocess.run(["/usr/bin/rsync", "--stats"] + args, stdout=subprocess.PIPE, text=True, check=False)
        duration = time.time() - started
    finally:
        if lock is not None:
            lock.close()
    sys.stdout.write(proc.stdout)
    if m:
        stats = {}
        for key, pattern in STAT_PATTERNS.items():
            found = pattern.search(proc.stdout)
            if found:
                stats[key] = int(found.group(1).replace(",", ""))
        receiver = m.group(1)
        record(replica_names().get(receiver, receiver), m.group(2).rstrip("/"), proc.returncode, started, duration,
               stats)
    return proc.returncode


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "rsync":
        sys.exit(rsync_wrapper(sys.argv[2:]))
    if command == "receiver":
        receiver()
    elif command == "sender":
        sender()
    elif command == "metrics":
        write_metrics()
    else:
        raise SystemExit("usage: mover receiver|sender|metrics|rsync RSYNC-ARGS")


if __name__ == "__main__":
    main()
