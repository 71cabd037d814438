"""Entry point of the p2p variant's Syncthing container, and its status reader.

    st.py run      pick this node's identity, write config.xml from the template, exec syncthing
    st.py status   JSON status of every folder, read from the local REST API (the key never leaves the node)

Environment (set by the stack file, rendered from the topology plan):
    ST_NODE_ID        the Swarm node ID this task runs on ({{.Node.ID}})
    ST_IDENTITIES     "<node id>=<secret file>" pairs, space-separated: which identity is this node's
    ST_HOME           Syncthing's home (index database, keys, config); on the host, so it survives restarts
    ST_CONFIG         the config.xml template (a Swarm config); __APIKEY__ is replaced here
    ST_API_KEY_FILE   the Swarm secret with the REST API key
"""

import json
import os
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

HOME = os.environ.get("ST_HOME", "/var/lib/syncthing")
GUI = "http://127.0.0.1:8384"


def log(msg):
    print("st: %s" % msg, file=sys.stderr, flush=True)


def write(path, data, mode):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def identity_file():
    node = os.environ["ST_NODE_ID"]
    pairs = dict(p.split("=", 1) for p in os.environ.get("ST_IDENTITIES", "").split() if "=" in p)
    if node not in pairs:
        sys.exit("st: no identity for Swarm node %s in ST_IDENTITIES (%s): run site.yml again"
                 % (node, " ".join(sorted(pairs))))
    return "/run/secrets/" + pairs[node]


def split_pem(text):
    """(key PEM, certificate PEM) from the identity secret (key first, then certificate)."""
    marker = "-----BEGIN CERTIFICATE-----"
    at = text.index(marker)
    return text[:at].strip() + "\n", text[at:].strip() + "\n"


def run():
    os.makedirs(HOME, mode=0o700, exist_ok=True)
    with open(identity_file()) as handle:
        key, cert = split_pem(handle.read())
    write(os.path.join(HOME, "key.pem"), key, 0o600)
    write(os.path.join(HOME, "cert.pem"), cert, 0o644)
    with open(os.environ["ST_API_KEY_FILE"]) as handle:
        api_key = handle.read().strip()
    with open(os.environ["ST_CONFIG"]) as handle:
        config = handle.read().replace("__APIKEY__", api_key)
    write(os.path.join(HOME, "config.xml"), config, 0o600)
    # Syncthing only syncs a folder whose marker exists; the namespace directories exist (node_dirs).
    for folder in ET.fromstring(config).iter("folder"):
        path = folder.get("path")
        if os.path.isdir(path):
            os.makedirs(os.path.join(path, ".stfolder"), exist_ok=True)
        else:
            log("folder %s: %s does not exist; Syncthing will report it" % (folder.get("id"), path))
    os.execv("/usr/bin/syncthing", ["syncthing", "serve", "--no-browser", "--no-restart", "--no-default-folder",
                                    "--home", HOME, "--logflags", "0"])


def api(path, key):
    req = urllib.request.Request(GUI + path, headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


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
    me = api("/rest/system/status", key)["myID"]
    names = dict((d["deviceID"], d["name"]) for d in config["devices"])
    connections = api("/rest/system/connections", key)["connections"]
    stats = api("/rest/stats/folder", key)
    folders = []
    for folder in config["folders"]:
        st = api("/rest/db/status?folder=%s" % folder["id"], key)
        last = (stats.get(folder["id"]) or {}).get("lastFile") or {}
        folders.append({
            "folder": folder["id"], "path": folder["path"], "state": st.get("state"),
            "in_sync": st.get("state") == "idle" and st.get("needFiles", 0) == 0 and st.get("needDeletes", 0) == 0
            and not st.get("errors") and not st.get("pullErrors"),
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
    json.dump({"device_id": me, "name": names.get(me), "peers": peers, "folders": folders}, sys.stdout,
              sort_keys=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command == "run":
        run()
    elif command == "status":
        status()
    else:
        sys.exit("usage: st.py run|status")
