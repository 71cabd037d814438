"""A job: one step on one node, run by ``docker exec -i <node> python3 -c <this file>``.

Write files, stage data, rename, run a timed command, checksum a tree, edit authorized_keys, read the
swarm from the node's Docker API. Its config is the first line of stdin; stdin then stays open, and EOF
(the bench was interrupted or killed) ends the job at once, so nothing keeps running inside a node after
the bench is gone. Never imported by the bench: its source is sent to the node.
"""
import base64
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

CHILD = []


def watchdog():
    while sys.stdin.buffer.read(65536):
        pass
    for proc in CHILD:  # a command this job runs (the baseline rsync and its ssh) goes with it
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass
    os._exit(3)


def op_write_files(cfg):
    # plain open/write/close, `interval` seconds apart; t0 is taken just before the open
    writes = []
    start = time.time()
    for i, (path, data) in enumerate(cfg["files"]):
        delay = start + i * cfg["interval"] - time.time()
        if delay > 0:
            time.sleep(delay)
        payload = base64.b64decode(data)
        t0 = time.time()
        with open(path, "wb") as handle:
            handle.write(payload)
        writes.append([path, t0, time.time()])
    return {"writes": writes}


def op_stage(cfg):
    # random content (os.urandom), groups of [name, count, size, files per directory]
    root = cfg["root"]
    files = []
    t0 = time.time()
    for group, count, size, per_dir in cfg["groups"]:
        for i in range(count):
            rel = "%s/d%03d/f%05d.bin" % (group, i // per_dir, i)
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                left = size
                while left:
                    n = min(left, 4 << 20)
                    handle.write(os.urandom(n))
                    left -= n
            files.append([rel, size])
    t1 = time.time()
    subprocess.run(["sync", "-f", root], check=False)  # its writeback must not disturb the timed copies
    return {"files": files, "seconds": t1 - t0}


def op_rename(cfg):
    os.makedirs(os.path.dirname(cfg["dst"]), exist_ok=True)
    t0 = time.time()
    try:
        os.rename(cfg["src"], cfg["dst"])
        how = "rename"
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copytree(cfg["src"], cfg["dst"], symlinks=True, dirs_exist_ok=True)
        how = "copy"
    t1 = time.time()
    if how == "copy":
        shutil.rmtree(cfg["src"], ignore_errors=True)
    return {"t0": t0, "t1": t1, "how": how}


def op_run(cfg):
    t0 = time.time()
    proc = subprocess.Popen(cfg["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    CHILD.append(proc)
    out, err = proc.communicate()
    return {"t0": t0, "t1": time.time(), "rc": proc.returncode, "stdout": out[-4000:], "stderr": err[-4000:]}


def op_tree(cfg):
    root, per_dir, total, tag = cfg["root"], cfg["per_dir"], cfg["files"], cfg["tag"]
    t0 = time.time()
    for i in range(total):
        directory = os.path.join(root, "d%04d" % (i // per_dir))
        if i % per_dir == 0:
            os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "f%06d.txt" % i), "wb") as handle:
            handle.write(("%s tree file %d\n" % (tag, i)).encode() * 3)
    return {"t0": t0, "t1": time.time()}


def op_md5(cfg):
    root = cfg["root"]
    entries = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            digest = hashlib.md5()
            size = 0
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
            total += size
            entries.append("%s %d %s" % (os.path.relpath(path, root), size, digest.hexdigest()))
    entries.sort()
    return {"files": len(entries), "bytes": total,
            "digest": hashlib.sha256("\n".join(entries).encode()).hexdigest(),
            "entries": entries if cfg.get("full") else None}


def op_authkey(cfg):
    path = "/root/.ssh/authorized_keys"
    if cfg["action"] == "add":
        os.makedirs("/root/.ssh", mode=0o700, exist_ok=True)
        existed = os.path.exists(path)
        prefix = ""
        if existed:
            with open(path, "rb") as handle:
                data = handle.read()
            if data and not data.endswith(b"\n"):
                prefix = "\n"
        with open(path, "a") as handle:
            handle.write(prefix + cfg["line"].strip() + "\n")
        if not existed:
            os.chmod(path, 0o600)
        return {"existed": existed}
    try:
        with open(path) as handle:
            lines = handle.read().splitlines(True)
    except FileNotFoundError:
        return {"removed": 0}
    keep = [line for line in lines if cfg["marker"] not in line]
    if not keep and not cfg["existed"]:
        os.unlink(path)
    elif len(keep) != len(lines):
        st = os.stat(path)
        tmp = path + ".bench-tmp"
        with open(tmp, "w") as handle:
            handle.write("".join(keep))
        os.chmod(tmp, st.st_mode & 0o7777)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.rename(tmp, path)
    return {"removed": len(lines) - len(keep)}


def op_swarm(cfg):
    # the swarm as this manager's Docker API reports it: the named services' desired and running tasks and
    # environment, and the nodes' hostnames (GET /services?status=true needs API 1.41, Docker 20.10)
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(30)
            self.sock.connect("/var/run/docker.sock")

    def get(path):
        conn = Conn("localhost", timeout=30)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise SystemExit("Docker API GET %s: %d %s" % (path, resp.status, body[:300].decode(errors="replace")))
        return json.loads(body)

    services = {}
    for svc in get("/services?status=true"):
        name = svc["Spec"]["Name"]
        if name in cfg["services"]:
            status = svc.get("ServiceStatus") or {}
            env = svc["Spec"].get("TaskTemplate", {}).get("ContainerSpec", {}).get("Env") or []
            services[name] = {"running": status.get("RunningTasks", 0), "desired": status.get("DesiredTasks", 0),
                              "env": dict(e.split("=", 1) for e in env if "=" in e)}
    nodes = [n["Description"]["Hostname"] for n in get("/nodes")]
    return {"services": services, "nodes": nodes}


cfg = json.loads(sys.stdin.buffer.readline())
threading.Thread(target=watchdog, daemon=True).start()
result = globals()["op_" + cfg["op"]](cfg)
sys.stdout.write("RESULT " + json.dumps(result) + "\n")
sys.stdout.flush()
os._exit(0)  # not a normal exit: the watchdog thread holds stdin's lock
