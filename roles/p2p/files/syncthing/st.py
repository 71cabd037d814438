"""Entry point of the p2p variant's Syncthing container, its namespace guard, and its status reader.

    st.py run      pick this node's identity, write config.xml from the template, run syncthing as a child
                   and guard the namespaces while it runs
    st.py status   JSON status of every folder, read from the local REST API (the key never leaves the node)

Environment (set by the stack file, rendered from the topology plan):
    ST_NODE_ID         the Swarm node ID this task runs on ({{.Node.ID}})
    ST_IDENTITIES      "<node id>=<secret file>" pairs, space-separated: which identity is this node's
    ST_NODE_NAMES      "<node id>=<inventory hostname>" pairs: the name this node is reported under
    ST_NAMESPACE_IDS   "<namespace>=<uuid>" pairs: each namespace's identity, as the cluster keeps it
    ST_HOME            Syncthing's home (index database, keys, config); on the host, so it survives restarts
    ST_CONFIG          the config.xml template (a Swarm config); __APIKEY__ is replaced here
    ST_API_KEY_FILE    the Swarm secret with the REST API key
    ST_METRICS         where the Prometheus text of the guard goes (on the host: <root>/state/p2p/metrics.prom)
    ST_GUARD_INTERVAL  seconds between two checks of the namespace markers (default 2)

The namespace guard (docs/data-safety.md, section 1). Each folder's marker is the file
<namespace>/.stfolder/swarmdata-id (the folder's markerName in config.xml), holding the namespace's identity.
Nothing here ever creates it, nor Syncthing's .stfolder. A folder whose marker is missing stays stopped by
Syncthing's own guard ("folder marker missing": no scan, so no file is ever announced as deleted). A folder
whose marker holds another identity (another cluster's disk, a reinstalled host) would pass Syncthing's check,
so it is paused. The guard logs every refusal, writes swarmdata_namespace_refused to ST_METRICS, and when the
marker is right again it unpauses the folder or asks Syncthing to rescan it at once: replication resumes by
itself, without waiting for the hourly rescan.

The GUI and REST API listen only on a Unix socket (GUI_SOCKET, mode 0600, in a 0700 directory, inside the
container): no TCP port, so no local user on the node reaches them; the API key is needed as well.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

HOME = os.environ.get("ST_HOME", "/var/lib/syncthing")
GUI_SOCKET = "/run/syncthing/gui.sock"
DEFAULT_MARKER = ".stfolder/swarmdata-id"

OK, MISSING, MISMATCH, UNKNOWN = "ok", "missing", "mismatch", "unknown"


def log(msg):
    print("st: %s" % msg, file=sys.stderr, flush=True)


def write(path, data, mode):
    """Write ``path`` atomically (temp file + rename) with ``mode``."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def pairs(variable):
    """{key: value} from an environment variable of space-separated key=value pairs."""
    return dict(p.split("=", 1) for p in os.environ.get(variable, "").split() if "=" in p)


def identity_file():
    node = os.environ["ST_NODE_ID"]
    ids = pairs("ST_IDENTITIES")
    if node not in ids:
        sys.exit("st: no identity for Swarm node %s in ST_IDENTITIES (%s): run site.yml again"
                 % (node, " ".join(sorted(ids))))
    return "/run/secrets/" + ids[node]


def node_name():
    node = os.environ.get("ST_NODE_ID", "")
    return pairs("ST_NODE_NAMES").get(node) or node or "this node"


def split_pem(text):
    """(key PEM, certificate PEM) from the identity secret (key first, then certificate)."""
    marker = "-----BEGIN CERTIFICATE-----"
    at = text.index(marker)
    return text[:at].strip() + "\n", text[at:].strip() + "\n"


# ---------------------------------------------------------------- namespace guard
def folders_of(config):
    """[(folder id, path, marker path)] of a config.xml text."""
    out = []
    for folder in ET.fromstring(config).iter("folder"):
        marker = (folder.findtext("markerName") or "").strip() or DEFAULT_MARKER
        out.append((folder.get("id"), folder.get("path"), os.path.join(folder.get("path"), marker)))
    return out


def check_marker(path, marker, expected):
    """(state, reason) of one namespace: state is OK, MISSING, MISMATCH or UNKNOWN; reason None when OK."""
    if not expected:
        return UNKNOWN, "the cluster holds no identity for it (run site.yml)"
    try:
        with open(marker) as handle:
            found = handle.read().strip()
    except OSError as exc:
        if not os.path.isdir(path):
            return MISSING, "its directory %s is missing" % path
        return MISSING, "its marker %s is missing (%s): the namespace looks empty or not mounted" % (
            marker, exc.strerror or exc)
    if found != expected:
        return MISMATCH, "its marker %s holds identity %s, the cluster's is %s" % (
            marker, found[:36] or "''", expected)
    return OK, None


def check_all(folders, ids):
    """{folder id: (state, reason)} for every folder."""
    return dict((fid, check_marker(path, marker, ids.get(fid))) for fid, path, marker in folders)


def refusal_message(ns, node, path, reason):
    return ("REFUSED namespace %s on %s: %s. Syncthing does not scan or sync it there, so no change (and no "
            "delete) from this copy reaches the other nodes, which keep their data. Check that the namespace's "
            "disk is mounted at %s on %s; replication resumes by itself once the marker is back. To accept this "
            "copy as it is (the other nodes will then match it), run playbooks/accept_namespace.yml "
            "-e namespace=%s -e host=%s -e confirm=%s" % (ns, node, reason, path, node, ns, node, ns))


def metrics_text(states, node):
    """Prometheus text of the guard: swarmdata_namespace_refused{namespace,node} 0|1 (as the bind sender)."""
    out = ["# HELP swarmdata_namespace_refused 1 while the namespace's copy on the node is refused "
           "(marker missing or foreign)",
           "# TYPE swarmdata_namespace_refused gauge"]
    for ns in sorted(states):
        out.append('swarmdata_namespace_refused{namespace="%s",node="%s"} %d'
                   % (ns, node, 0 if states[ns][0] == OK else 1))
    return "\n".join(out) + "\n"


def write_metrics(states, node):
    path = os.environ.get("ST_METRICS")
    if not path:
        return
    try:
        write(path, metrics_text(states, node), 0o644)
    except OSError as exc:
        log("cannot write %s: %s" % (path, exc))


def render_config(template, api_key, states):
    """config.xml from the template: the API key filled in, and folders with a foreign or unknown marker
    paused (their marker exists, so Syncthing's own check would let them sync)."""
    root = ET.fromstring(template.replace("__APIKEY__", api_key))
    for folder in root.iter("folder"):
        paused = folder.find("paused")
        if paused is None:
            paused = ET.SubElement(folder, "paused")
        paused.text = "true" if states.get(folder.get("id"), (OK,))[0] in (MISMATCH, UNKNOWN) else "false"
    return ET.tostring(root, encoding="unicode") + "\n"


def actions(before, after):
    """What the guard does when a folder's state changes: [(folder id, action)], action in
    'pause' (foreign or unknown marker), 'unpause' (right again after a pause), 'scan' (right again after
    missing: Syncthing retries only at its next rescan otherwise; or just missing: Syncthing shows the
    error at once)."""
    todo = []
    for fid in sorted(after):
        old, new = before.get(fid, (None,))[0], after[fid][0]
        if old == new:
            continue
        if new in (MISMATCH, UNKNOWN):
            todo.append((fid, "pause"))
        elif old in (MISMATCH, UNKNOWN):
            todo.append((fid, "unpause"))
            if new == MISSING:
                todo.append((fid, "scan"))
        else:
            todo.append((fid, "scan"))
    return todo


# ---------------------------------------------------------------- REST API over the Unix socket
class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def api(path, key, method="GET", body=None):
    conn = UnixHTTPConnection(GUI_SOCKET)
    try:
        headers = {"X-API-Key": key}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8")
        if resp.status >= 300:
            raise OSError("%s %s: HTTP %d %s" % (method, path, resp.status, text.strip()[:200]))
        return json.loads(text) if text.strip() else None
    finally:
        conn.close()


def apply(fid, action, key):
    if action == "pause":
        api("/rest/config/folders/%s" % fid, key, "PATCH", {"paused": True})
    elif action == "unpause":
        api("/rest/config/folders/%s" % fid, key, "PATCH", {"paused": False})
    else:
        api("/rest/db/scan?folder=%s" % fid, key, "POST")


# ---------------------------------------------------------------- run
def run():
    os.makedirs(HOME, mode=0o700, exist_ok=True)
    os.chmod(HOME, 0o700)  # keys, the API key in config.xml, CSRF tokens: root only, also on the host
    os.makedirs(os.path.dirname(GUI_SOCKET), mode=0o700, exist_ok=True)
    os.chmod(os.path.dirname(GUI_SOCKET), 0o700)
    with open(identity_file()) as handle:
        key_pem, cert = split_pem(handle.read())
    write(os.path.join(HOME, "key.pem"), key_pem, 0o600)
    write(os.path.join(HOME, "cert.pem"), cert, 0o644)
    with open(os.environ["ST_API_KEY_FILE"]) as handle:
        api_key = handle.read().strip()
    with open(os.environ["ST_CONFIG"]) as handle:
        template = handle.read()
    node = node_name()
    ids = pairs("ST_NAMESPACE_IDS")
    folders = folders_of(template)
    paths = dict((f[0], f[1]) for f in folders)
    states = check_all(folders, ids)
    for fid, (state, reason) in sorted(states.items()):
        if state != OK:
            log(refusal_message(fid, node, paths[fid], reason))
    write_metrics(states, node)
    write(os.path.join(HOME, "config.xml"), render_config(template, api_key, states), 0o600)
    child = subprocess.Popen(["/usr/bin/syncthing", "serve", "--no-browser", "--no-restart", "--no-default-folder",
                              "--home", HOME, "--logflags", "0"])

    def forward(signum, _frame):
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    interval = float(os.environ.get("ST_GUARD_INTERVAL", "2"))
    # What Syncthing was started with: a paused folder needs 'unpause' once right, a missing one a 'scan'.
    applied = dict(states)
    while child.poll() is None:
        time.sleep(interval)
        now = check_all(folders, ids)
        for fid, (state, reason) in sorted(now.items()):
            if state != states[fid][0]:
                if state == OK:
                    log("namespace %s on %s: marker right again; resuming replication" % (fid, node))
                else:
                    log(refusal_message(fid, node, paths[fid], reason))
        if now != states:
            write_metrics(now, node)
            states = now
        for fid, action in actions(applied, now):
            try:
                apply(fid, action, api_key)
            except OSError as exc:  # Syncthing not up yet, or busy: retried at the next check
                log("namespace %s: %s not done yet (%s)" % (fid, action, exc))
                break
            applied[fid] = now[fid]
    sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)


# ---------------------------------------------------------------- status
def conflicts(path):
    found = []
    for top, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in (".stfolder", ".stversions")]
        found += [os.path.relpath(os.path.join(top, f), path) for f in files if ".sync-conflict-" in f]
    return sorted(found)


def status():
    with open(os.environ["ST_API_KEY_FILE"]) as handle:
        key = handle.read().strip()
    deadline = time.time() + 30
    while True:
        try:
            config = api("/rest/config", key)
            break
        except OSError as exc:
            if time.time() > deadline:
                sys.exit("st: Syncthing's API does not answer: %s" % exc)
            time.sleep(1)
    ids = pairs("ST_NAMESPACE_IDS")
    me = api("/rest/system/status", key)["myID"]
    names = dict((d["deviceID"], d["name"]) for d in config["devices"])
    connections = api("/rest/system/connections", key)["connections"]
    stats = api("/rest/stats/folder", key)
    folders = []
    for folder in config["folders"]:
        st = api("/rest/db/status?folder=%s" % folder["id"], key)
        last = (stats.get(folder["id"]) or {}).get("lastFile") or {}
        marker = os.path.join(folder["path"], folder.get("markerName") or DEFAULT_MARKER)
        guard, reason = check_marker(folder["path"], marker, ids.get(folder["id"]))
        folders.append({
            "folder": folder["id"], "path": folder["path"], "state": st.get("state"),
            "error": st.get("error") or "", "paused": folder.get("paused", False),
            "guard": guard, "refused": reason,
            "in_sync": guard == OK and st.get("state") == "idle" and st.get("needFiles", 0) == 0
            and st.get("needDeletes", 0) == 0 and not st.get("errors") and not st.get("pullErrors"),
            "need_files": st.get("needFiles", 0) + st.get("needDeletes", 0), "need_bytes": st.get("needBytes", 0),
            "local_files": st.get("localFiles"), "global_files": st.get("globalFiles"),
            "errors": st.get("errors", 0) + st.get("pullErrors", 0),
            "conflicts": conflicts(folder["path"]),
            "last_change": {"at": last.get("at"), "file": last.get("filename"), "deleted": last.get("deleted")},
            "peers_outstanding": dict(
                (names.get(dev, dev), api("/rest/db/completion?folder=%s&device=%s" % (folder["id"], dev), key)
                 .get("needBytes", 0))
                for dev in [d["deviceID"] for d in folder["devices"]] if dev != me),
        })
    peers = {}
    for dev, conn in connections.items():
        if dev != me:
            peers[names.get(dev, dev)] = {"connected": conn.get("connected", False),
                                          "in_bytes": conn.get("inBytesTotal", 0),
                                          "out_bytes": conn.get("outBytesTotal", 0)}
    json.dump({"device_id": me, "name": names.get(me), "node": node_name(), "peers": peers, "folders": folders},
              sys.stdout, sort_keys=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command == "run":
        run()
    elif command == "status":
        status()
    else:
        sys.exit("usage: st.py run|status")
