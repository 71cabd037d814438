"""The p2p variant on a real 3-node swarm: Syncthing on every node, every node an equal peer.

Every wait is bounded; a timeout fails with what still differs.
"""

import json
import shlex
import subprocess
import threading
import time

import pytest
import testinfra
from helpers import RUNNER, SWARM_HOSTS, assert_variant_change_refused, manifest, recap, run_module, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]  # each test drives the lab itself
ROOT = "/opt/swarmdata/namespaces"
NAMESPACES = ("wiki", "db", "media")
SERVICE = "swarmdata_syncthing"


@pytest.fixture(scope="module")
def nodes():
    return dict((h, testinfra.get_host("docker://" + h)) for h in RUNNER.get_hosts(SWARM_HOSTS))


def container(node, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        cid = node.run("docker ps --quiet --filter label=com.docker.swarm.service.name=%s" % SERVICE).stdout.strip()
        if cid:
            return cid.splitlines()[0]
        time.sleep(2)
    pytest.fail("no %s container on %s after %d s" % (SERVICE, node.backend.host, timeout))


def st_status(node):
    return json.loads(node.check_output("docker exec %s st-status" % container(node)))


def syncthings_own(rel):
    """Syncthing's own bookkeeping, never synced: its folder marker, and the temporary files of pulls it keeps
    to resume (.syncthing.<name>.tmp; one is left where a pull was overtaken by a conflict)."""
    name = rel.rsplit("/", 1)[-1]
    return rel.startswith((".stfolder", ".stversions")) or (name.startswith(".syncthing.") and name.endswith(".tmp"))


def tree(node, ns):
    """The namespace as files: {path: [mode, uid, gid, size, mtime, sha256]}, Syncthing's own files left out."""
    return dict((k, v) for k, v in manifest(node, "%s/%s" % (ROOT, ns)).items() if not syncthings_own(k))


def wait_identical(nodes, namespaces=NAMESPACES, timeout=240, what="trees"):
    deadline = time.time() + timeout
    why = "not compared yet"
    started = time.time()
    while time.time() < deadline:
        try:
            trees = dict((ns, dict((h, tree(n, ns)) for h, n in nodes.items())) for ns in namespaces)
            differ = ["%s on %s" % (ns, h) for ns, by_host in trees.items() for h in by_host
                      if by_host[h] != by_host[sorted(by_host)[0]]]
            if not differ:
                print("%s identical on every node after %.1f s" % (what, time.time() - started))
                return trees
            why = "differ: %s" % ", ".join(differ)
        except (AssertionError, RuntimeError, ValueError) as exc:  # a tree changing under the walk
            why = str(exc)[:300]
        time.sleep(2)
    pytest.fail("%s still differ after %d s: %s" % (what, timeout, why))


def wait_connected(nodes, timeout=180):
    deadline = time.time() + timeout
    state = {}
    while time.time() < deadline:
        state = dict((h, st_status(n)["peers"]) for h, n in nodes.items())
        if all(p["connected"] for peers in state.values() for p in peers.values()) and \
                all(len(peers) == len(nodes) - 1 for peers in state.values()):
            return
        time.sleep(2)
    pytest.fail("peers not all connected after %d s: %s" % (timeout, state))


def sh(node, script):
    return node.check_output("sh -c %s" % shlex.quote(script))


def test_identities_are_swarm_secrets_and_device_ids_are_syncthings(nodes, group_vars):
    manager = RUNNER.get_hosts("swarm_managers")[0]
    identities = [{"name": "swarmdata-syncthing-%s" % h, "host": h} for h in sorted(nodes)]
    rc, out = run_module(manager, "swarmdata.replication.swarm_syncthing_ids",
                         {"identities": identities, "api_key_secret": "swarmdata-syncthing-apikey"})
    assert rc == 0 and '"changed": false' in out, out[-2000:]
    ids = json.loads(out[out.index("{"):])["device_ids"]
    for name, node in nodes.items():
        # what Syncthing itself computes from the certificate it runs with
        own = node.check_output("docker exec %s syncthing --device-id --home /var/lib/syncthing" % container(node))
        assert own.strip() == ids[name]
        assert st_status(node)["device_id"] == ids[name]
    assert "PRIVATE KEY" not in out


def test_api_on_a_root_only_socket_and_no_discovery_relays_or_reporting(nodes):
    for name, node in nodes.items():
        listening = node.check_output("ss -ltnH")
        assert ":8384" not in listening, (name, listening)  # no TCP port for the GUI/API at all
        modes = node.check_output("docker exec %s stat -c '%%a %%U %%F' /run/syncthing /run/syncthing/gui.sock"
                                  % container(node)).splitlines()
        assert modes == ["700 root directory", "600 root socket"], (name, modes)
        assert node.check_output("stat -c %a /opt/swarmdata/state /opt/swarmdata/state/syncthing").split() == [
            "700", "700"]
        config = node.check_output("cat /opt/swarmdata/state/syncthing/config.xml")
        for off in ("globalAnnounceEnabled", "localAnnounceEnabled", "relaysEnabled", "natEnabled"):
            assert "<%s>false</%s>" % (off, off) in config, (name, off)
        assert "<urAccepted>-1</urAccepted>" in config
        assert 'fsWatcherEnabled="true"' in config and 'fsWatcherDelayS="1"' in config
        assert "__APIKEY__" not in config
    wait_connected(nodes)


# Run on a node as root or as an unprivileged user: every way a local user could reach Syncthing's API or its key.
# Prints JSON {"attempts": [[what, result], ...]}.
PROBE = r"""
import glob, json, os, socket
out = []


def note(what, result):
    out.append([what, result[:20000]])


def http(connect, what):
    cookie = ""  # Syncthing hands out its CSRF cookie on GET /; send it back as the token it asks for
    for path in ("/", "/rest/config", "/rest/system/config"):
        try:
            s = connect()
            req = "GET %s HTTP/1.0\r\nHost: localhost\r\n" % path
            if cookie:
                name, value = cookie.split("=", 1)
                req += "Cookie: %s\r\nX-%s: %s\r\n" % (cookie, name, value)
            s.sendall((req + "\r\n").encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            text = data.decode("utf-8", "replace")
            for line in text.split("\r\n"):
                if line.lower().startswith("set-cookie:") and "CSRF-Token" in line:
                    cookie = line.split(":", 1)[1].strip().split(";")[0]
            note("%s GET %s" % (what, path), text)
        except OSError as exc:
            note("%s GET %s" % (what, path), "error: %s" % exc)


def read(path):
    try:
        with open(path, errors="replace") as handle:
            note("read " + path, handle.read(1 << 20))
    except OSError as exc:
        note("read " + path, "error: %s" % exc)


http(lambda: socket.create_connection(("127.0.0.1", 8384), timeout=5), "tcp 127.0.0.1:8384")
pids = []
for comm in glob.glob("/proc/[0-9]*/comm"):
    try:
        if open(comm).read().strip() == "syncthing":
            pids.append(comm.split("/")[2])
    except OSError:
        pass
note("syncthing pids", " ".join(pids))
for path in ["/proc/%s/root/run/syncthing/gui.sock" % p for p in pids] + glob.glob("/opt/swarmdata/**/*.sock",
                                                                                    recursive=True):
    def unix(path=path):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(path)
        return s
    http(unix, "unix " + path)
files = ["/opt/swarmdata/state/syncthing/config.xml"]
files += ["/proc/%s/%s" % (p, f) for p in pids for f in ("environ", "cmdline", "root/var/lib/syncthing/config.xml",
                                                           "root/run/secrets/syncthing-apikey")]
for top, dirs, names in os.walk("/opt/swarmdata/state"):
    files += [os.path.join(top, n) for n in names]
for path in files:
    read(path)
print(json.dumps(out))
"""


def probe(name, *as_user):
    proc = subprocess.run(["docker", "exec", name] + list(as_user) + ["python3", "-c", PROBE],
                          capture_output=True, text=True, timeout=120, check=True)
    return proc.stdout


def test_an_unprivileged_local_user_gets_neither_the_config_nor_the_api_key(nodes):
    for name, node in nodes.items():
        # read without testinfra, which logs what commands print: the key is never printed
        key = subprocess.run(["docker", "exec", name, "docker", "exec", container(node), "cat",
                              "/run/secrets/syncthing-apikey"],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert len(key) >= 20
        # The probe can fail: as root it gets the key, from config.xml and from the socket with the CSRF cookie
        # of GET / (the way uid 65534 got it over TCP before).
        as_root = json.loads(probe(name))
        found_by_root = any(key in r[1] for r in as_root)
        assert found_by_root, "the probe does not detect the API key even as root on %s" % name
        root_config = [r for w, r in as_root if w.startswith("unix") and w.endswith("/rest/config")]
        root_got_it = bool(root_config) and " 200 " in root_config[0].split("\r\n")[0] and key in root_config[0]
        assert root_got_it, "root did not get the config through the socket on %s" % name
        out = probe(name, "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")
        leaked = key in out
        assert not leaked, "uid 65534 on %s got the API key" % name
        attempts = json.loads(out)
        got_config = [w for w, r in attempts if w.endswith("/rest/config") and " 200 " in r.split("\r\n")[0]]
        assert not got_config, (name, got_config)
        no_config = all("<apikey>" not in r[1] and '"apiKey"' not in r[1] for r in attempts)
        assert no_config, "uid 65534 on %s got Syncthing's configuration" % name
        for what, result in attempts:
            print("uid 65534 on %s, %s: %s" % (name, what, result.split("\r\n")[0][:100]))


def test_changes_on_different_nodes_converge(nodes):
    a, b, c = sorted(nodes)
    sh(nodes[a], "mkdir -p %(r)s/wiki/pages && for i in $(seq 1 50); do echo page $i > %(r)s/wiki/pages/p$i.md; done"
                 " && echo v1 > %(r)s/db/state.txt && chown 999:999 %(r)s/db/state.txt" % {"r": ROOT})
    wait_identical(nodes, what="files created on %s" % a)
    sh(nodes[b], "echo v2 > %(r)s/db/state.txt && echo new > %(r)s/media/from-b.bin" % {"r": ROOT})
    sh(nodes[c], "mv %(r)s/wiki/pages/p1.md %(r)s/wiki/pages/renamed.md && rm %(r)s/wiki/pages/p2.md"
                 " && mkdir %(r)s/media/dir && echo x > %(r)s/media/dir/f" % {"r": ROOT})
    trees = wait_identical(nodes, what="changes made on %s and %s" % (b, c))
    wiki, db = trees["wiki"][a], trees["db"][a]
    assert "pages/renamed.md" in wiki and "pages/p1.md" not in wiki and "pages/p2.md" not in wiki
    assert nodes[a].file(ROOT + "/db/state.txt").content_string == "v2\n"
    assert db["state.txt"][1:3] == [999, 999]  # owner kept (copyOwnershipFromParent)
    assert "dir/f" in trees["media"][a] and "from-b.bin" in trees["media"][a]


def test_the_same_file_changed_on_two_nodes_keeps_both_versions(nodes):
    a, b = sorted(nodes)[:2]
    path = ROOT + "/wiki/contested.txt"
    sh(nodes[a], "echo original > %s" % path)
    wait_identical(nodes, namespaces=("wiki",), what="the original")
    barrier = threading.Barrier(2)

    def edit(name):
        barrier.wait()
        sh(nodes[name], "echo edited on %s > %s" % (name, path))

    threads = [threading.Thread(target=edit, args=(n,)) for n in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trees = wait_identical(nodes, namespaces=("wiki",), timeout=300, what="both edits")
    for name, node in nodes.items():
        versions = sorted(k for k in trees["wiki"][name] if k.startswith("contested"))
        assert len(versions) == 2 and any(".sync-conflict-" in v for v in versions), (name, versions)
        contents = sorted(node.file("%s/wiki/%s" % (ROOT, v)).content_string for v in versions)
        assert contents == sorted("edited on %s\n" % n for n in (a, b)), (name, contents)
    for name, node in nodes.items():
        wiki = [f for f in st_status(node)["folders"] if f["folder"] == "wiki"][0]
        assert any(c.startswith("contested.sync-conflict-") for c in wiki["conflicts"]), (name, wiki)


def test_a_cut_off_node_receives_what_it_missed_and_sends_what_it_changed(nodes):
    a, c = sorted(nodes)[0], sorted(nodes)[-1]
    # Both directions and both ends of every Syncthing connection (a connection the peer opened has its
    # port 22000 on this side as the source): a partial cut lets one-way data through.
    cut = " && ".join("iptables -%%s %s -p tcp --%s 22000 -j DROP" % (chain, port)
                      for chain in ("INPUT", "OUTPUT") for port in ("dport", "sport"))
    sh(nodes[c], cut % ("I", "I", "I", "I"))
    try:
        time.sleep(3)
        sh(nodes[a], "mkdir -p %(r)s/media/while-cut && for i in $(seq 1 100); do echo $i > %(r)s/media/while-cut/a$i;"
                     " done && rm %(r)s/media/from-b.bin" % {"r": ROOT})
        sh(nodes[c], "mkdir -p %(r)s/wiki/offline && for i in $(seq 1 30); do echo $i > %(r)s/wiki/offline/c$i; done"
                     % {"r": ROOT})
        time.sleep(5)
        assert nodes[c].run("test -e %s/media/while-cut/a1" % ROOT).rc != 0  # really cut off
        assert nodes[a].run("test -e %s/wiki/offline/c1" % ROOT).rc != 0
    finally:
        sh(nodes[c], cut % ("D", "D", "D", "D"))
    trees = wait_identical(nodes, timeout=300, what="after the cut-off node rejoined")
    assert "while-cut/a100" in trees["media"][c] and "from-b.bin" not in trees["media"][c]
    assert "offline/c30" in trees["wiki"][a]


def test_a_stopped_node_catches_up_when_it_returns(nodes):
    a, c = sorted(nodes)[0], sorted(nodes)[-1]
    subprocess.run(["docker", "stop", c], check=True, capture_output=True)
    try:
        # As the database would: as the namespace's owner (Syncthing 1.19 gives new files the parent's owner).
        sh(nodes[a], "setpriv --reuid=999 --regid=999 --clear-groups sh -c 'mkdir -p %(r)s/db/while-down && "
                     "for i in $(seq 1 100); do echo $i > %(r)s/db/while-down/f$i; done'" % {"r": ROOT})
        time.sleep(3)
    finally:
        subprocess.run(["docker", "start", c], check=True, capture_output=True)
    trees = wait_identical(nodes, timeout=420, what="after %s restarted" % c)
    assert "while-down/f100" in trees["db"][c]


def test_a_restarted_engine_does_not_fetch_again_what_it_has(nodes):
    a, c = sorted(nodes)[0], sorted(nodes)[-1]
    size = 30 * 1024 * 1024
    sh(nodes[a], "head -c %d /dev/urandom > %s/media/big.bin" % (size, ROOT))
    wait_identical(nodes, namespaces=("media",), timeout=300, what="a 30 MiB file")
    nodes[c].check_output("docker kill %s" % container(nodes[c]))
    time.sleep(3)
    wait_connected(nodes)
    deadline = time.time() + 120
    while time.time() < deadline:
        status = st_status(nodes[c])
        if all(f["in_sync"] for f in status["folders"]):
            break
        time.sleep(2)
    received = sum(p["in_bytes"] for p in status["peers"].values())
    print("restarted engine on %s received %d bytes to get back in sync (the namespace holds > %d)"
          % (c, received, size))
    assert all(f["in_sync"] for f in status["folders"]), status
    assert received < size // 10


def namespace_ids(node):
    """{namespace: identity} the container was given (the cluster's record, from the stack)."""
    env = node.check_output("docker exec %s printenv ST_NAMESPACE_IDS" % container(node))
    return dict(p.split("=", 1) for p in env.split())


def folder(node, ns):
    return [f for f in st_status(node)["folders"] if f["folder"] == ns][0]


def new_container(node, old, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        cid = node.run("docker ps --quiet --filter label=com.docker.swarm.service.name=%s" % SERVICE).stdout.strip()
        if cid and not old.startswith(cid.splitlines()[0]):
            return cid.splitlines()[0]
        time.sleep(1)
    pytest.fail("Swarm did not restart Syncthing on %s within %d s" % (node.backend.host, timeout))


def test_a_namespace_that_comes_back_empty_is_not_a_mass_delete(nodes):
    a, c = sorted(nodes)[0], sorted(nodes)[-1]
    ns, path = "media", ROOT + "/media"
    metrics = "/opt/swarmdata/state/p2p/metrics.prom"
    refused = 'swarmdata_namespace_refused{namespace="%s",node="%s"} %%d' % (ns, c)
    expected = namespace_ids(nodes[c])[ns]
    assert expected and nodes[c].file(path + "/.stfolder/swarmdata-id").content_string == expected + "\n"
    sh(nodes[a], "mkdir -p %(p)s/guard && for i in $(seq 1 40); do head -c 4096 /dev/urandom > %(p)s/guard/g$i; done"
                 % {"p": path})
    filled = wait_identical(nodes, namespaces=(ns,), what="the filled namespace")[ns][a]
    assert len([k for k in filled if k.startswith("guard/g")]) == 40
    # What an unmounted disk looks like: an empty directory. A host's root mount is shared (systemd), so a
    # mount there reaches the container's rslave bind; the lab node's root is not: make it what a host has.
    sh(nodes[c], "mount --make-rshared / && mount -t tmpfs -o mode=0755 swarmdata-empty %s" % path)
    try:
        old = container(nodes[c])
        nodes[c].check_output("docker kill %s" % old)
        new = new_container(nodes[c], old)
        rc, out = run_playbook()
        assert rc == 0, out[-3000:]
        deadline = time.time() + 60
        while time.time() < deadline:
            f = folder(nodes[c], ns)
            if f["refused"] and "marker missing" in f["error"]:
                break
            time.sleep(2)
        assert f["refused"] and "marker missing" in f["error"], f  # Syncthing's own guard stopped the folder
        assert nodes[c].run("test -e %s/.stfolder" % path).rc != 0  # nothing recreated a marker
        for h, node in nodes.items():
            if h != c:
                assert tree(node, ns) == filled, "%s lost files of %s after it came back empty on %s" % (h, ns, c)
        rc, out = run_playbook(playbook="playbooks/status.yml")
        assert rc == 0, out[-3000:]
        assert "REFUSED namespace %s on %s: its marker %s/.stfolder/swarmdata-id is missing" % (ns, c, path) in out
        assert refused % 1 in nodes[c].file(metrics).content_string
        assert 'swarmdata_namespace_refused{namespace="%s",node="%s"} 0' % (ns, a) in \
            nodes[a].file(metrics).content_string
        logs = nodes[c].check_output("docker logs %s 2>&1" % new)
        assert "REFUSED namespace %s on %s" % (ns, c) in logs and "Check that the namespace's disk is mounted" in logs
    finally:
        nodes[c].run("mountpoint -q %s && umount %s" % (path, path))
    # The disk is back: replication resumes by itself, in both directions.
    started = time.time()
    sh(nodes[a], "echo back > %s/guard/written-after-the-data-is-back" % path)
    trees = wait_identical(nodes, namespaces=(ns,), timeout=120, what="after the data came back on %s" % c)
    print("replication resumed on %s %.1f s after the disk came back" % (c, time.time() - started))
    assert "guard/written-after-the-data-is-back" in trees[ns][c] and trees[ns][c] == trees[ns][a]
    assert folder(nodes[c], ns)["refused"] is None
    assert refused % 0 in nodes[c].file(metrics).content_string


def test_status_shows_every_node_and_namespace_in_sync(nodes):
    deadline = time.time() + 120
    out = ""
    while time.time() < deadline:
        rc, out = run_playbook(playbook="playbooks/status.yml")
        assert rc == 0, out[-3000:]
        rows = [line for line in out.splitlines() if any(h in line for h in nodes) and " yes " in line]
        if len(rows) >= len(nodes) * len(NAMESPACES):
            break
        time.sleep(5)
    for h in nodes:
        for ns in NAMESPACES:
            assert any(h in line and " %s " % ns in line and " yes " in line for line in out.splitlines()), (h, ns)
    assert all(v.get("changed") == 0 for v in recap(out).values())


def test_check_mode_on_a_converged_cluster_changes_nothing():
    rc, out = run_playbook("--check", "--diff")
    assert rc == 0, out[-3000:]
    assert all(v.get("changed") == 0 for v in recap(out).values()), recap(out)


@pytest.mark.parametrize("wanted", [v for v in ("bind", "glusterfs", "p2p") if v != "p2p"])
def test_a_variant_change_with_data_in_place_is_refused_before_anything_changes(nodes, wanted):
    assert_variant_change_refused(nodes, "p2p", wanted)
