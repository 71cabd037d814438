#!/usr/bin/env python
"""Replication benchmark on the local lab swarm: latency, bulk throughput, small changes in a big tree.

    python3 scripts/bench.py                  # full run (100 writes, 1 GiB bulk, 100000-file tree)
    python3 scripts/bench.py --quick          # smoke run (20 writes, 64 MiB, 5000 files)
    python3 scripts/bench.py --json out.json  # also write the figures as JSON
    python3 scripts/bench.py --variant glusterfs --json gluster.json   # the lab deployed with glusterfs
    python3 scripts/bench.py --table bind.json gluster.json            # both runs in one table

It talks to the lab nodes with ``docker exec`` only; the one network address it uses is a lab node's
own address on the lab network, for the bare-rsync baseline. Everything it creates (a ``.bench-<pid>``
directory in the namespace, a staging directory, a baseline scratch directory, a temporary SSH key and
its authorized_keys line) is removed at the end, also after an error, Ctrl-C or SIGTERM. It prints
figures and asserts nothing about speed; it exits non-zero only when a phase could not complete
(timeout, checksum mismatch) or the lab is not ready.

Timing: every timestamp is ``time.time()`` taken inside a lab container. The containers share the
host's kernel clock, so the writer's and the readers' timestamps are comparable. One long-lived
poller per reader (``docker exec -i <node> python3``) stats the expected files every 5 ms and
reports when each one is present with its full size (and content, where a checksum is given).

Variants: a variant function checks its deployment and returns (writer_node, reader_nodes,
namespace_path); the phases take exactly those and know nothing about the variant. ``bind`` writes
on the primary and reads on the replicas; ``glusterfs`` writes through the first node's mount and
reads through the others' mounts. A lab runs one variant at a time, so each variant is one run;
``--table`` puts their JSON files side by side. ``p2p`` writes on the first node and reads on the
other peers.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024
PHASES = ("latency", "bulk", "tree")


class BenchError(Exception):
    """The lab is not as expected, or a step failed: reported, the run goes on with the next phase."""


class PhaseTimeout(BenchError):
    """A wait ran out; the message says which reader missed what."""


# ------------------------------------------------------------------ programs run inside the lab nodes
# The poller: one per reader, for the whole run. Commands on stdin, one per line:
#   W <rel> <size> <md5|->   report "F <rel> <time>" once <rel> exists with <size> bytes (and that md5)
#   C <rel> <n>              report "C <rel> <time> <count>" once <rel> holds >= n regular files
#   G <rel>                  report "G <rel> <time>" once <rel> no longer exists
#   S <token>                barrier: answered "S <token>" after every earlier command took effect
#   R <token>                list what is still awaited ("P ..." lines), then "R <token>"
#   X                        forget everything awaited          Q / EOF: exit
# Names starting with "." below a counted directory are not counted (rsync's temporary files and
# the .~tmp~ directories of --delay-updates).
POLLER = r'''
import hashlib, os, sys, threading, time

ROOT = sys.argv[1]
lock = threading.Lock()
out_lock = threading.Lock()
files = {}
counts = {}
gone = set()
last_count = {}


def emit(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def count_files(top):
    n = 0
    stack = [top]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    n += 1
    return n


def present(rel, size, md5):
    path = os.path.join(ROOT, rel)
    try:
        if os.stat(path).st_size != size:
            return False
        if md5 is None:
            return True
        digest = hashlib.md5()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest() == md5
    except OSError:
        return False


def commands():
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        op = parts[0]
        if op == "Q":
            break
        with lock:
            if op == "W":
                files[parts[1]] = (int(parts[2]), None if parts[3] == "-" else parts[3])
            elif op == "C":
                counts[parts[1]] = int(parts[2])
            elif op == "G":
                gone.add(parts[1])
            elif op == "X":
                files.clear()
                counts.clear()
                gone.clear()
            elif op == "R":
                pending = sorted(files)
                for rel in pending[:20]:
                    emit("P file " + rel)
                if len(pending) > 20:
                    emit("P more %d" % (len(pending) - 20))
                for rel, want in sorted(counts.items()):
                    emit("P count %s %s/%d" % (rel, last_count.get(rel, "?"), want))
                for rel in sorted(gone):
                    emit("P gone " + rel)
        if op in ("S", "R"):
            emit("%s %s" % (op, parts[1]))
    os._exit(0)


threading.Thread(target=commands, daemon=True).start()
emit("READY %d" % os.getpid())
next_walk = 0.0
while True:
    started = time.monotonic()
    with lock:
        items = list(files.items())
        gitems = list(gone)
    for rel, (size, md5) in items:
        if present(rel, size, md5):
            now = time.time()
            with lock:
                files.pop(rel, None)
            emit("F %s %.6f" % (rel, now))
    for rel in gitems:
        if not os.path.lexists(os.path.join(ROOT, rel)):
            now = time.time()
            with lock:
                gone.discard(rel)
            emit("G %s %.6f" % (rel, now))
    cost = time.monotonic() - started
    if counts and time.monotonic() >= next_walk:
        walk_started = time.monotonic()
        with lock:
            citems = list(counts.items())
        for rel, want in citems:
            n = count_files(os.path.join(ROOT, rel))
            now = time.time()
            last_count[rel] = n
            if n >= want:
                with lock:
                    counts.pop(rel, None)
                emit("C %s %.6f %d" % (rel, now, n))
        # a walk of a big tree is not free: at most a quarter of one CPU
        next_walk = time.monotonic() + max(0.1, 3 * (time.monotonic() - walk_started))
    # 5 ms between sweeps; with thousands of files awaited, at most a quarter of one CPU
    time.sleep(min(0.5, max(0.005, 3 * cost)))
'''

# A job: one step on one node (write files, stage data, rename, run a timed command, checksum a tree).
# Its config is the first line of stdin; stdin then stays open, and EOF (the bench was interrupted or
# killed) ends the job at once, so nothing keeps running inside a node after the bench is gone.
JOB = r'''
import base64, errno, hashlib, json, os, shutil, signal, subprocess, sys, threading, time

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


cfg = json.loads(sys.stdin.buffer.readline())
threading.Thread(target=watchdog, daemon=True).start()
result = globals()["op_" + cfg["op"]](cfg)
sys.stdout.write("RESULT " + json.dumps(result) + "\n")
sys.stdout.flush()
os._exit(0)  # not a normal exit: the watchdog thread holds stdin's lock
'''


# ------------------------------------------------------------------ processes
_children = set()
_children_lock = threading.Lock()


def spawn(argv, **kwargs):
    """Start a child in its own session: a terminal's Ctrl-C reaches the bench, which then cleans up."""
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    with _children_lock:
        _children.add(proc)
    return proc


def forget(proc):
    with _children_lock:
        _children.discard(proc)


def kill_children():
    with _children_lock:
        procs = list(_children)
    for proc in procs:
        for stream in (proc.stdin,):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        forget(proc)


def run(argv, timeout=120, check=True, input_text=None):
    proc = spawn(argv, stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError("timed out after %ds: %s" % (timeout, shlex.join(argv[:6]))) from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        forget(proc)
    if check and proc.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (shlex.join(argv[:8]), proc.returncode, err.strip()[-800:]))
    return out


def dx(node, argv, timeout=120, check=True, input_text=None):
    """docker exec on a lab node."""
    flags = ["-i"] if input_text is not None else []
    return run(["docker", "exec"] + flags + [node] + list(argv), timeout, check, input_text)


def dx_ok(node, argv, timeout=60):
    """docker exec on a lab node: did the command succeed?"""
    try:
        dx(node, argv, timeout=timeout)
    except BenchError:
        return False
    return True


def run_job(node, cfg, timeout):
    """Run one JOB op on a node; returns its result dict."""
    proc = spawn(["docker", "exec", "-i", node, "python3", "-c", JOB], stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [], []
    readers = [threading.Thread(target=lambda s=s, b=b: b.append(s.read()), daemon=True)
               for s, b in ((proc.stdout, out), (proc.stderr, err))]
    for thread in readers:
        thread.start()
    try:
        proc.stdin.write((json.dumps(cfg) + "\n").encode())
        proc.stdin.flush()
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("job %s on %s timed out after %ds" % (cfg["op"], node, timeout)) from None
    except BrokenPipeError:
        proc.wait(30)
    finally:
        try:
            proc.stdin.close()  # EOF: the job's watchdog ends it if it still runs
        except OSError:
            pass
        if proc.poll() is None:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for thread in readers:
            thread.join(10)
        forget(proc)
    stdout = b"".join(out).decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError("job %s on %s failed (exit %d): %s" % (
            cfg["op"], node, proc.returncode, b"".join(err).decode(errors="replace").strip()[-1500:]))
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise BenchError("job %s on %s printed no result" % (cfg["op"], node))


def parallel(calls):
    """Run callables at once; returns their results in order, re-raising the first error."""
    results = [None] * len(calls)
    errors = [None] * len(calls)

    def one(i, fn):
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: B036 - handed back to the caller
            errors[i] = exc

    threads = [threading.Thread(target=one, args=(i, fn), daemon=True) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results


class Poller:
    """The long-lived poller on one reader node (see POLLER)."""

    def __init__(self, node, root):
        self.node = node
        self.cond = threading.Condition()
        self.seen = {}       # "F:rel" / "C:rel" / "G:rel" -> time.time() on the reader
        self.counted = {}
        self.acks = set()
        self.report = []
        self.ready = False
        self.exited = False
        self.errors = []
        self.proc = spawn(["docker", "exec", "-i", node, "python3", "-u", "-c", POLLER, root],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          bufsize=1)
        threading.Thread(target=self._stdout, daemon=True).start()
        threading.Thread(target=self._stderr, daemon=True).start()
        with self.cond:
            if not self.cond.wait_for(lambda: self.ready or self.exited, 60) or not self.ready:
                raise BenchError("poller on %s did not start: %s" % (node, " ".join(self.errors)[-800:]))

    def _stdout(self):
        for line in self.proc.stdout:
            parts = line.split()
            if not parts:
                continue
            with self.cond:
                kind = parts[0]
                if kind in ("F", "C", "G"):
                    self.seen["%s:%s" % (kind, parts[1])] = float(parts[2])
                    if kind == "C":
                        self.counted[parts[1]] = int(parts[3])
                elif kind in ("S", "R"):
                    self.acks.add(parts[1])
                elif kind == "P":
                    self.report.append(line[2:].strip())
                elif kind == "READY":
                    self.ready = True
                self.cond.notify_all()
        with self.cond:
            self.exited = True
            self.cond.notify_all()

    def _stderr(self):
        for line in self.proc.stderr:
            self.errors.append(line.rstrip())
            del self.errors[:-20]

    def send(self, lines):
        if self.exited:
            raise BenchError("poller on %s exited: %s" % (self.node, " ".join(self.errors)[-800:]))
        try:
            self.proc.stdin.write("".join(line + "\n" for line in lines))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise BenchError("poller on %s is gone: %s" % (self.node, exc)) from None

    def _roundtrip(self, op, timeout=60):
        token = os.urandom(6).hex()
        self.send(["%s %s" % (op, token)])
        with self.cond:
            if not self.cond.wait_for(lambda: token in self.acks or self.exited, timeout) or token not in self.acks:
                raise BenchError("poller on %s does not answer" % self.node)

    def barrier(self):
        self._roundtrip("S")

    def pending(self):
        with self.cond:
            self.report = []
        self._roundtrip("R")
        with self.cond:
            return list(self.report)

    def close(self):
        try:
            self.send(["Q"])
            self.proc.stdin.close()
        except (BenchError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        forget(self.proc)


# ------------------------------------------------------------------ the run
class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.pid = os.getpid()
        self.tag = "swarmdata-bench-%d" % self.pid
        self.dirname = ".bench-%d" % self.pid
        self.pollers = {}
        self.cleanups = []
        self.started = time.monotonic()
        self.status_probe = None  # variant hook: {reader: {...}} of the replication's own status, or None
        self.meta = {}

    def log(self, msg):
        print("[%7.1fs] %s" % (time.monotonic() - self.started, msg), flush=True)

    def on_cleanup(self, label, fn):
        self.cleanups.append((label, fn))

    def cleanup(self):
        for label, fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                print("cleanup: %s FAILED: %s" % (label, exc), flush=True)
            else:
                print("cleanup: %s" % label, flush=True)
        self.cleanups = []
        kill_children()

    # --- waiting on the pollers
    def watch(self, readers, lines):
        for node in readers:
            self.pollers[node].send(lines)
        for node in readers:
            self.pollers[node].barrier()

    def wait(self, readers, keys, timeout, what):
        """Wait until every reader reported every key; returns {reader: {key: time}}."""
        deadline = time.monotonic() + timeout
        for node in readers:
            poller = self.pollers[node]
            with poller.cond:
                while True:
                    missing = [k for k in keys if k not in poller.seen]
                    if not missing:
                        break
                    if poller.exited:
                        raise BenchError("poller on %s exited: %s" % (node, " ".join(poller.errors)[-800:]))
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    poller.cond.wait(min(left, 0.25))
        misses = []
        for node in readers:
            poller = self.pollers[node]
            with poller.cond:
                missing = [k for k in keys if k not in poller.seen]
            if missing:
                detail = poller.pending()
                misses.append("%s missed %d of %d: %s" % (node, len(missing), len(keys), "; ".join(detail)))
        if misses:
            for node in readers:
                self.pollers[node].send(["X"])
            raise PhaseTimeout("%s: timed out after %ds\n    %s" % (what, timeout, "\n    ".join(misses)))
        result = {}
        for node in readers:
            with self.pollers[node].cond:
                result[node] = {k: self.pollers[node].seen[k] for k in keys}
        return result

    def remove_and_wait(self, writer, readers, path, rel, what):
        """Delete path on the writer; seconds until it is gone on every reader (None: not within the
        timeout; the final cleanup removes what is left)."""
        self.watch(readers, ["G " + rel])
        t0 = time.time()
        dx(writer, ["rm", "-rf", "--one-file-system", path], timeout=self.opts.timeout)
        try:
            seen = self.wait(readers, ["G:" + rel], self.opts.timeout, what)
        except PhaseTimeout as exc:
            print("  %s" % exc, flush=True)
            return None
        return max(s["G:" + rel] for s in seen.values()) - t0

    def status(self):
        if self.status_probe is None:
            return None
        try:
            return self.status_probe()
        except BenchError as exc:
            self.log("status probe failed: %s" % exc)
            return None


def percentile(values, q):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[int(rank) - 1]


def stats(values):
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values),
            "mean": sum(values) / len(values), "min": min(values)}


def fmt_stats(s):
    return "p50 %.3f s  p95 %.3f s  max %.3f s  mean %.3f s  (min %.3f s)" % (
        s["p50"], s["p95"], s["max"], s["mean"], s["min"])


def runs_delta(before, after):
    """rsync runs per reader between two status probes (variant bind: the status JSON)."""
    if not before or not after:
        return None
    return {node: after[node].get("runs_total", 0) - before.get(node, {}).get("runs_total", 0)
            for node in after}


def md5_file(data):
    return hashlib.md5(data).hexdigest()


def verify_same(bench, writer, readers, path_by_node, what):
    """Checksum list of the tree on the writer and every reader; returns (ok, message)."""
    nodes = [writer] + list(readers)
    lists = parallel([lambda n=n: run_job(n, {"op": "md5", "root": path_by_node[n]}, bench.opts.timeout)
                      for n in nodes])
    ref = lists[0]
    bad = [n for n, lst in zip(nodes[1:], lists[1:], strict=True) if lst["digest"] != ref["digest"]]
    if not bad:
        return True, "md5 of %d files (%s) identical on %s" % (
            ref["files"], fmt_mib(ref["bytes"]), ", ".join(nodes))
    full = parallel([lambda n=n: run_job(n, {"op": "md5", "root": path_by_node[n], "full": True}, bench.opts.timeout)
                     for n in [writer] + bad])
    want = set(full[0]["entries"])
    parts = []
    for node, lst in zip(bad, full[1:], strict=True):
        have = set(lst["entries"])
        diff = sorted({e.split(" ")[0] for e in want.symmetric_difference(have)})
        parts.append("%s differs in %d files (%s%s)" % (node, len(diff), ", ".join(diff[:10]),
                                                        ", ..." if len(diff) > 10 else ""))
    return False, "%s: CHECKSUM MISMATCH: %s" % (what, "; ".join(parts))


def fmt_s(seconds):
    return "(not within the timeout)" if seconds is None else "%.2f s" % seconds


def fmt_mib(n):
    return "%.1f MiB" % (n / MIB) if n >= MIB else "%.1f KiB" % (n / 1024)


# ------------------------------------------------------------------ phases (variant-independent)
def phase_latency(bench, writer_node, reader_nodes, namespace_path):
    """N small unique files written on the writer, `interval` apart; per write, the time from just
    before the write until it is present with its content on all readers."""
    opts = bench.opts
    rel_dir = "%s/latency" % bench.dirname
    dx(writer_node, ["mkdir", "-p", os.path.join(namespace_path, rel_dir)])
    files = []
    for i in range(opts.writes):
        line = ("%s write %d %s\n" % (bench.tag, i, os.urandom(8).hex())).encode()
        data = (line * (1024 // len(line) + 1))[:1024]
        files.append(("%s/w%05d.txt" % (rel_dir, i), data))
    bench.watch(reader_nodes, ["W %s %d %s" % (rel, len(data), md5_file(data)) for rel, data in files])
    before = bench.status()
    bench.log("latency: %d writes of 1 KiB, %.2f s apart" % (opts.writes, opts.interval))
    job = run_job(writer_node, {"op": "write_files", "interval": opts.interval,
                                "files": [[os.path.join(namespace_path, rel), base64.b64encode(data).decode()]
                                          for rel, data in files]},
                  timeout=opts.writes * opts.interval + opts.timeout)
    t0 = {os.path.relpath(path, namespace_path): start for path, start, _end in job["writes"]}
    keys = ["F:" + rel for rel, _data in files]
    seen = bench.wait(reader_nodes, keys, opts.timeout, "latency")
    after = bench.status()
    all_lat = [max(seen[n]["F:" + rel] for n in reader_nodes) - t0[rel] for rel, _data in files]
    per_reader = {n: stats([seen[n]["F:" + rel] - t0[rel] for rel, _data in files]) for n in reader_nodes}
    bursts = {}
    for n in reader_nodes:
        arrivals = sorted(seen[n].values())
        bursts[n] = 1 + sum(1 for a, b in zip(arrivals, arrivals[1:], strict=False) if b - a > 0.1)
    span = job["writes"][-1][1] - job["writes"][0][1]
    overall = stats(all_lat)
    print("  all readers       %s" % fmt_stats(overall))
    for n in reader_nodes:
        print("  %-17s %s" % (n, fmt_stats(per_reader[n])))
    runs = runs_delta(before, after)
    print("  %d writes over %.1f s arrived in bursts of files (gap > 0.1 s): %s" % (
        opts.writes, span, ", ".join("%s %d" % (n, bursts[n]) for n in reader_nodes)))
    if runs:
        print("  replication runs during the phase (its status): %s" % ", ".join(
            "%s %d" % (n, runs[n]) for n in reader_nodes if n in runs))
    bench.remove_and_wait(writer_node, reader_nodes, os.path.join(namespace_path, rel_dir), rel_dir,
                          "latency cleanup")
    return {"writes": opts.writes, "interval_s": opts.interval, "file_bytes": 1024, "all_readers": overall,
            "per_reader": per_reader, "bursts": bursts, "replication_runs": runs, "latencies_s": all_lat}


def bulk_plan(mib):
    """Half the bytes in large files (64 MiB, smaller for small runs), 3/8 in 1 MiB, 1/8 in 16 KiB."""
    large = 64 if mib >= 256 else max(1, mib // 4)
    n_large = (mib // 2) // large
    rest = mib - n_large * large
    n_medium = (rest * 3) // 4
    n_small = (rest - n_medium) * 64
    groups = []
    if n_large:
        groups.append(["large", n_large, large * MIB, 16])
    if n_medium:
        groups.append(["medium", n_medium, MIB, 64])
    if n_small:
        groups.append(["small", n_small, 16 * 1024, 256])
    return groups


def ssh_baseline_setup(bench, writer_node, target_node):
    """A temporary key in the writer, authorized on the target's own sshd; known_hosts from ssh-keyscan,
    checked against the target's host key read with docker exec. Returns (ssh command, address)."""
    opts = bench.opts
    nets = json.loads(run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", target_node]))
    address = (nets.get(opts.lab_network) or {}).get("IPAddress")
    if not address:
        raise BenchError("%s has no address on network %s (--lab-network)" % (target_node, opts.lab_network))
    key = "/root/.ssh/bench_%d" % bench.pid
    known_hosts = key + ".known_hosts"
    bench.on_cleanup("temporary key %s and its known_hosts removed on %s" % (key, writer_node),
                     lambda: dx(writer_node, ["rm", "-f", key, key + ".pub", known_hosts]))
    dx(writer_node, ["sh", "-c", "umask 077 && mkdir -p /root/.ssh"])
    dx(writer_node, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", bench.tag, "-f", key])
    public = dx(writer_node, ["cat", key + ".pub"]).strip()
    state = {"existed": True}  # until known otherwise, never delete the file, only our line
    bench.on_cleanup("temporary key removed from %s:/root/.ssh/authorized_keys" % target_node,
                     lambda: run_job(target_node, {"op": "authkey", "action": "remove", "marker": bench.tag,
                                                   "existed": state["existed"]}, 60))
    state["existed"] = run_job(target_node, {"op": "authkey", "action": "add", "line": public}, 60)["existed"]
    scanned = dx(writer_node, ["ssh-keyscan", "-T", "10", "-t", "ed25519", address], timeout=60)
    scanned = [line.split() for line in scanned.splitlines() if line.strip() and not line.startswith("#")]
    actual = dx(target_node, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).split()[:2]
    if not scanned or scanned[0][1:3] != actual:
        raise BenchError("ssh-keyscan of %s does not match %s's host key" % (address, target_node))
    dx(writer_node, ["sh", "-c", "umask 077 && cat > %s" % shlex.quote(known_hosts)],
       input_text=" ".join(scanned[0]) + "\n")
    ssh = ("ssh -i %s -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
           "-o UserKnownHostsFile=%s -o ConnectTimeout=10" % (key, known_hosts))
    dx(writer_node, shlex.split(ssh) + ["root@" + address, "true"], timeout=60)
    return ssh, address


def phase_bulk(bench, writer_node, reader_nodes, namespace_path):
    """`bulk-mib` of mixed random files staged outside the namespace, then (a) bare rsync -a over SSH
    to the first reader (baseline), (b) moved into the namespace: until complete on all readers."""
    opts = bench.opts
    stage = "/var/tmp/bench-stage-%d" % bench.pid
    scratch = "/var/tmp/bench-baseline-%d" % bench.pid
    rel_dir = "%s/bulk" % bench.dirname
    bench.on_cleanup("staging dir %s removed on %s" % (stage, writer_node),
                     lambda: dx(writer_node, ["rm", "-rf", "--one-file-system", stage], timeout=300))
    groups = bulk_plan(opts.bulk_mib)
    composition = ", ".join("%d x %s" % (count, fmt_mib(size)) for _name, count, size, _per_dir in groups)
    bench.log("bulk: staging %d MiB on %s (%s)" % (opts.bulk_mib, writer_node, composition))
    staged = run_job(writer_node, {"op": "stage", "root": stage, "groups": groups}, opts.timeout)
    files = staged["files"]
    total = sum(size for _rel, size in files)
    print("  staged %s in %d files (%s) in %.1f s, outside the namespace: %s" % (
        fmt_mib(total), len(files), composition, staged["seconds"], stage))
    result = {"bytes": total, "files": len(files), "composition": composition}

    # (a) baseline: bare rsync -a over SSH, writer -> first reader, through the nodes' own sshd
    target = reader_nodes[0]
    try:
        ssh, address = ssh_baseline_setup(bench, writer_node, target)
        bench.on_cleanup("baseline scratch dir %s removed on %s" % (scratch, target),
                         lambda: dx(target, ["rm", "-rf", "--one-file-system", scratch], timeout=300))
        bench.log("bulk: baseline rsync -a over ssh %s -> %s (%s)" % (writer_node, target, address))
        res = run_job(writer_node, {"op": "run", "argv": ["rsync", "-a", "-e", ssh, stage + "/",
                                                          "root@%s:%s/" % (address, scratch)]}, opts.timeout)
        if res["rc"] != 0:
            raise BenchError("baseline rsync failed (exit %d): %s" % (res["rc"], res["stderr"].strip()))
        seconds = res["t1"] - res["t0"]
        ok, message = verify_same(bench, writer_node, [target], {writer_node: stage, target: scratch}, "baseline")
        result["baseline"] = {"target": target, "seconds": seconds, "mib_s": total / MIB / seconds,
                              "verified": ok}
        print("  (a) baseline  bare rsync -a over ssh to 1 node (%s): %.2f s, %.1f MiB/s; %s" % (
            target, seconds, total / MIB / seconds, "verified" if ok else message))
        dx(target, ["rm", "-rf", "--one-file-system", scratch], timeout=300)
        dx(target, ["sync", "-f", "/var/tmp"], timeout=300)
    except BenchError as exc:
        result["baseline"] = {"error": str(exc)}
        print("  (a) baseline FAILED: %s" % exc)

    # (b) replication: the staged tree renamed into the namespace, until every file is whole on every reader
    time.sleep(opts.settle)
    bench.watch(reader_nodes, ["W %s/%s %d -" % (rel_dir, rel, size) for rel, size in files])
    before = bench.status()
    bench.log("bulk: moving the staged tree into the namespace; waiting for %d readers" % len(reader_nodes))
    moved = run_job(writer_node, {"op": "rename", "src": stage, "dst": os.path.join(namespace_path, rel_dir)},
                    opts.timeout)
    keys = ["F:%s/%s" % (rel_dir, rel) for rel, _data in files]
    seen = bench.wait(reader_nodes, keys, opts.timeout, "bulk")
    after = bench.status()
    done = {n: max(seen[n].values()) - moved["t0"] for n in reader_nodes}
    seconds = max(done.values())
    per_replica = total / MIB / seconds
    paths = {n: os.path.join(namespace_path, rel_dir) for n in [writer_node] + reader_nodes}
    ok, message = verify_same(bench, writer_node, reader_nodes, paths, "bulk")
    result["replication"] = {"seconds": seconds, "per_reader_s": done, "mib_s_per_reader": per_replica,
                             "mib_s_aggregate": per_replica * len(reader_nodes), "how": moved["how"],
                             "verified": ok, "replication_runs": runs_delta(before, after)}
    print("  (b) replication  %s into the namespace -> complete on all %d readers: %.2f s, %.1f MiB/s per reader "
          "(%.1f MiB/s aggregate, %d copies in parallel)" % (
              "mv" if moved["how"] == "rename" else "cp -a", len(reader_nodes), seconds, per_replica,
              per_replica * len(reader_nodes), len(reader_nodes)))
    print("      complete after: %s" % ", ".join("%s %.2f s" % (n, done[n]) for n in reader_nodes))
    runs = result["replication"]["replication_runs"]
    if runs:
        print("      replication runs (its status): %s" % ", ".join(
            "%s %d" % (n, runs[n]) for n in reader_nodes if n in runs))
    print("      %s" % message)
    base = result.get("baseline", {})
    if "mib_s" in base:
        result["ratio_per_reader"] = per_replica / base["mib_s"]
        result["ratio_aggregate"] = per_replica * len(reader_nodes) / base["mib_s"]
        print("  ratio replication/baseline: %.2f per reader, %.2f aggregate (replication feeds %d readers "
              "at once, the baseline 1)" % (result["ratio_per_reader"], result["ratio_aggregate"],
                                            len(reader_nodes)))
    result["delete_s"] = bench.remove_and_wait(writer_node, reader_nodes, os.path.join(namespace_path, rel_dir),
                                               rel_dir, "bulk cleanup")
    print("  delete of the bulk tree on the writer gone on all readers after %s" % fmt_s(result["delete_s"]))
    if not ok:
        raise BenchError(message)
    return result


def phase_tree(bench, writer_node, reader_nodes, namespace_path):
    """`tree-files` small files in nested dirs (1000 per dir) written straight into the namespace; then
    10 of them modified: until all 10 changes are visible on all readers."""
    opts = bench.opts
    rel_dir = "%s/tree" % bench.dirname
    per_dir = 1000
    n = opts.tree_files
    n_dirs = -(-n // per_dir)
    bench.watch(reader_nodes, ["C %s %d" % (rel_dir, n)])
    bench.log("tree: creating %d files in %d dirs on %s" % (n, n_dirs, writer_node))
    made = run_job(writer_node, {"op": "tree", "root": os.path.join(namespace_path, rel_dir), "per_dir": per_dir,
                                 "files": n, "tag": bench.tag}, opts.timeout)
    seen = bench.wait(reader_nodes, ["C:" + rel_dir], opts.timeout, "tree initial replication")
    done = {r: seen[r]["C:" + rel_dir] - made["t0"] for r in reader_nodes}
    initial = max(done.values())
    print("  %d files created on the writer in %.1f s; complete on all readers %.1f s after the first write "
          "(%.1f s after the last)" % (n, made["t1"] - made["t0"], initial, initial - (made["t1"] - made["t0"])))
    print("      complete after: %s" % ", ".join("%s %.1f s" % (r, done[r]) for r in reader_nodes))
    paths = {r: os.path.join(namespace_path, rel_dir) for r in [writer_node] + reader_nodes}
    ok, message = verify_same(bench, writer_node, reader_nodes, paths, "tree")
    print("      %s" % message)
    if not ok:
        raise BenchError(message)

    time.sleep(opts.settle)
    picks = sorted({min(n - 1, k * (n // 10) + (k * 37) % max(1, n // 10)) for k in range(10)})
    changes = []
    for i in picks:
        rel = "%s/d%04d/f%06d.txt" % (rel_dir, i // per_dir, i)
        changes.append((rel, ("%s modified %d %s\n" % (bench.tag, i, os.urandom(4).hex())).encode()))
    bench.watch(reader_nodes, ["W %s %d %s" % (rel, len(data), md5_file(data)) for rel, data in changes])
    before = bench.status()
    bench.log("tree: modifying %d files" % len(changes))
    job = run_job(writer_node, {"op": "write_files", "interval": 0,
                                "files": [[os.path.join(namespace_path, rel), base64.b64encode(data).decode()]
                                          for rel, data in changes]}, opts.timeout)
    t_first = job["writes"][0][1]
    seen = bench.wait(reader_nodes, ["F:" + rel for rel, _data in changes], opts.timeout, "tree modifications")
    after = bench.status()
    changed = max(max(s.values()) for s in seen.values()) - t_first
    per_reader = {r: max(seen[r].values()) - t_first for r in reader_nodes}
    print("  %d files modified in the %d-file tree: all changes on all readers after %.2f s" % (
        len(changes), n, changed))
    print("      per reader: %s" % ", ".join("%s %.2f s" % (r, per_reader[r]) for r in reader_nodes))
    runs = runs_delta(before, after)
    if after:
        last = ["%s %s s, %s files transferred of %s" % (
            r, after[r].get("last_duration_seconds"), after[r].get("last_files_transferred"),
            after[r].get("files_total")) for r in reader_nodes if r in after]
        print("      last replication run (its status): %s" % "; ".join(last))
    delete_s = bench.remove_and_wait(writer_node, reader_nodes, os.path.join(namespace_path, rel_dir), rel_dir,
                                     "tree cleanup")
    print("  delete of the tree on the writer gone on all readers after %s" % fmt_s(delete_s))
    return {"files": n, "dirs": n_dirs, "create_s": made["t1"] - made["t0"], "initial_s": initial,
            "initial_per_reader_s": done, "changed_files": len(changes), "change_s": changed,
            "change_per_reader_s": per_reader, "replication_runs": runs,
            "last_run_status": {r: after[r] for r in reader_nodes if after and r in after}, "delete_s": delete_s}


PHASE_FUNCS = {"latency": ("1. propagation latency", phase_latency),
               "bulk": ("2. bulk throughput", phase_bulk),
               "tree": ("3. small changes in a big tree", phase_tree)}


def run_phases(bench, writer_node, reader_nodes, namespace_path):
    """Everything after the variant's own checks; knows only a writer, readers and the namespace path."""
    opts = bench.opts
    bench_path = os.path.join(namespace_path, bench.dirname)

    def remove_bench_dir():
        dx(writer_node, ["rm", "-rf", "--one-file-system", bench_path], timeout=300)
        deadline = time.monotonic() + min(opts.timeout, 300)
        left = list(reader_nodes)
        while left and time.monotonic() < deadline:
            left = [r for r in left if dx_ok(r, ["test", "-e", bench_path])]
            if left:
                time.sleep(1)
        for r in left:  # the delete did not propagate in time: remove it there directly
            dx(r, ["rm", "-rf", "--one-file-system", bench_path], timeout=300)
            print("cleanup: %s still had %s; removed it there directly" % (r, bench_path))

    bench.on_cleanup("%s removed on %s and gone on %s" % (bench_path, writer_node, ", ".join(reader_nodes)),
                     remove_bench_dir)
    dx(writer_node, ["mkdir", bench_path])
    for node in reader_nodes:
        bench.pollers[node] = Poller(node, namespace_path)
        bench.on_cleanup("poller on %s stopped" % node, bench.pollers[node].close)

    # warm-up: the bench directory and one file, end to end, before anything is timed
    data = ("%s warm-up\n" % bench.tag).encode()
    rel = "%s/warmup.txt" % bench.dirname
    bench.watch(reader_nodes, ["W %s %d %s" % (rel, len(data), md5_file(data))])
    job = run_job(writer_node, {"op": "write_files", "interval": 0,
                                "files": [[os.path.join(namespace_path, rel), base64.b64encode(data).decode()]]},
                  60)
    seen = bench.wait(reader_nodes, ["F:" + rel], opts.timeout, "warm-up")
    bench.log("warm-up: first file on all readers after %.2f s" % (
        max(s["F:" + rel] for s in seen.values()) - job["writes"][0][1]))

    results = {}
    for phase in opts.phases:
        title, fn = PHASE_FUNCS[phase]
        time.sleep(opts.settle)
        print("\n== %s" % title, flush=True)
        try:
            results[phase] = fn(bench, writer_node, reader_nodes, namespace_path)
        except BenchError as exc:
            print("  FAILED: %s" % exc, flush=True)
            results[phase] = {"error": str(exc)}
    print()
    total = bench.remove_and_wait(writer_node, reader_nodes, bench_path, bench.dirname, "final cleanup")
    bench.log("bench directory removed; gone on all readers after %s" % fmt_s(total))
    return results


# ------------------------------------------------------------------ variants
def require_running(node):
    state = run(["docker", "inspect", "-f", "{{.State.Running}}", node], check=False).strip()
    if state != "true":
        raise BenchError("lab node %s is not running (docker inspect: %s); start the lab with scripts/lab.sh"
                         % (node, state or "no such container"))


def variant_bind(bench):
    """Checks the bind stack; the writer is the primary, the readers the replicas with a receiver."""
    opts = bench.opts
    primary = opts.primary
    for node in [primary] + (opts.replicas or []):
        require_running(node)
    listing = dx(primary, ["docker", "service", "ls", "--format", "{{.Name}} {{.Replicas}}"], check=False)
    services = dict(line.split(None, 1) for line in listing.splitlines() if line.strip())
    sender = "%s_sender" % opts.stack
    if services.get(sender, "").split(" ")[0] != "1/1":
        raise BenchError("the bind stack is not running: `docker exec %s docker service ls` shows %s as %s, "
                         "expected 1/1. Deploy it (scripts/lab.sh) and wait until the sender runs."
                         % (primary, sender, services.get(sender, "absent")))
    prefix = "%s_recv-" % opts.stack
    receivers = {name[len(prefix):]: reps for name, reps in services.items() if name.startswith(prefix)}
    down = ["%s%s (%s)" % (prefix, name, reps) for name, reps in receivers.items() if reps.split(" ")[0] != "1/1"]
    if not receivers or down:
        raise BenchError("bind receivers not ready: %s" % (", ".join(down) or "none in stack %s" % opts.stack))
    readers = opts.replicas or sorted(receivers)
    for node in readers:
        if node not in receivers:
            raise BenchError("%s has no receiver in the stack (receivers: %s)" % (node, ", ".join(sorted(receivers))))
        if node not in (opts.replicas or []):
            state = run(["docker", "inspect", "-f", "{{.State.Running}}", node], check=False).strip()
            if state != "true":
                raise BenchError("receiver node %s is not a running container here; name them with --replicas" % node)
    namespace_path = "%s/namespaces/%s" % (opts.root.rstrip("/"), opts.namespace)
    for node in [primary] + readers:
        if not dx_ok(node, ["test", "-d", namespace_path]):
            raise BenchError("%s has no namespace directory %s" % (node, namespace_path))
    env = json.loads(dx(primary, ["docker", "service", "inspect", sender, "--format",
                                  "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"]) or "[]") or []
    env = dict(e.split("=", 1) for e in env if "=" in e)
    swarm_nodes = len(dx(primary, ["docker", "node", "ls", "-q"]).split())

    def probe():
        out = {}
        for node in readers:
            text = dx(primary, ["cat", "%s/state/bind/%s/%s.json" % (opts.root.rstrip("/"), node, opts.namespace)],
                      check=False)
            if text.strip():
                out[node] = json.loads(text)
        return out

    bench.status_probe = probe
    bench.meta.update({
        "variant": "bind", "swarm_nodes": swarm_nodes, "writer": primary, "readers": readers,
        "namespace_path": namespace_path,
        "variant_settings": "lsyncd delay %s s, full reconcile every %s s" % (
            env.get("MOVER_DELAY", "?"), env.get("MOVER_RECONCILE_INTERVAL", "?")),
    })
    return primary, readers, namespace_path


def variant_glusterfs(bench):
    """Checks the volume and the mounts; the writer writes through its own mount, readers read through theirs."""
    opts = bench.opts
    writer = opts.primary
    require_running(writer)
    info = dx(writer, ["gluster", "--mode=script", "volume", "info", "--xml"], check=False)
    try:
        volumes = ET.fromstring(info).findall(".//volume")
    except ET.ParseError:
        volumes = []
    if not volumes:
        raise BenchError("%s has no GlusterFS volume (gluster volume info: %s); deploy the glusterfs variant with "
                         "scripts/lab.sh -e replication_variant=glusterfs" % (writer, info.strip()[:200]))
    volume = volumes[0]
    if volume.findtext("statusStr") != "Started":
        raise BenchError("volume %s is %s, not Started" % (volume.findtext("name"), volume.findtext("statusStr")))
    hosts = [b.findtext("name").rpartition(":")[0] for b in volume.iter("brick")]
    readers = opts.replicas or [h for h in hosts if h != writer]
    mount = "%s/namespaces" % opts.root.rstrip("/")
    namespace_path = "%s/%s" % (mount, opts.namespace)
    for node in [writer] + readers:
        if not dx_ok(node, ["findmnt", "--types", "fuse.glusterfs", "--mountpoint", mount]):
            raise BenchError("%s has no GlusterFS mount at %s" % (node, mount))
        if not dx_ok(node, ["test", "-d", namespace_path]):
            raise BenchError("%s has no namespace directory %s" % (node, namespace_path))
    options = dict((o.findtext("name"), o.findtext("value")) for o in volume.iter("option"))
    swarm_nodes = len(dx(writer, ["docker", "node", "ls", "-q"], check=False).split())
    bench.meta.update({
        "variant": "glusterfs", "swarm_nodes": swarm_nodes, "writer": writer, "readers": readers,
        "namespace_path": namespace_path,
        "variant_settings": "volume %s, %s x %s bricks, FUSE mount on every node, quorum %s" % (
            volume.findtext("name"), volume.findtext("typeStr"), volume.findtext("brickCount"),
            options.get("cluster.quorum-type", "default")),
    })
    return writer, readers, namespace_path


def variant_p2p(bench):
    """Checks the Syncthing service; the writer writes in its namespace directory, the other peers are readers."""
    opts = bench.opts
    writer = opts.primary
    require_running(writer)
    service = "%s_syncthing" % opts.stack
    replicas = dx(writer, ["docker", "service", "ls", "--filter", "name=" + service, "--format", "{{.Replicas}}"],
                  check=False).strip().split(" ", maxsplit=1)[0]
    counts = replicas.split("/")
    if not replicas or len(counts) != 2 or counts[0] != counts[1]:
        raise BenchError("the p2p service %s is not running everywhere (%s); deploy it with "
                         "scripts/lab.sh -e replication_variant=p2p" % (service, replicas or "absent"))
    hosts = [line.split()[0] for line in dx(writer, ["docker", "node", "ls", "--format", "{{.Hostname}}"]).splitlines()
             if line.strip()]
    readers = opts.replicas or [h for h in hosts if h != writer]
    namespace_path = "%s/namespaces/%s" % (opts.root.rstrip("/"), opts.namespace)
    for node in [writer] + readers:
        if not dx_ok(node, ["test", "-d", namespace_path + "/.stfolder"]):
            raise BenchError("%s has no Syncthing folder at %s (no .stfolder marker)" % (node, namespace_path))
    config = dx(writer, ["cat", "%s/state/syncthing/config.xml" % opts.root.rstrip("/")], check=False)
    try:
        folder = [f for f in ET.fromstring(config).iter("folder") if f.get("id") == opts.namespace][0]
        settings = "watcher delay %s s, rescan every %s s" % (
            folder.get("fsWatcherDelayS"), folder.get("rescanIntervalS"))
    except (ET.ParseError, IndexError):
        settings = "configuration not readable"
    bench.meta.update({
        "variant": "p2p", "swarm_nodes": len(hosts), "writer": writer, "readers": readers,
        "namespace_path": namespace_path,
        "variant_settings": "Syncthing on every node (global service), %s" % settings,
    })
    return writer, readers, namespace_path


VARIANTS = {"bind": variant_bind, "glusterfs": variant_glusterfs, "p2p": variant_p2p}


# ------------------------------------------------------------------ main
def git_commit():
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def summary(meta, results):
    rows = []
    for variant, res in results.items():
        lat = res.get("latency", {})
        if "all_readers" in lat:
            s = lat["all_readers"]
            rows.append((variant, "latency p50 / p95 / max / mean (s), %d writes" % lat["writes"],
                         "%.3f / %.3f / %.3f / %.3f" % (s["p50"], s["p95"], s["max"], s["mean"])))
        elif "error" in lat:
            rows.append((variant, "latency", "FAILED"))
        bulk = res.get("bulk", {})
        if "replication" in bulk:
            rep = bulk["replication"]
            name = "bulk %s: replication to %d readers (s)" % (fmt_mib(bulk["bytes"]), len(rep["per_reader_s"]))
            rows.append((variant, name, "%.2f" % rep["seconds"]))
            rows.append((variant, "bulk replication MiB/s per reader / aggregate",
                         "%.1f / %.1f" % (rep["mib_s_per_reader"], rep["mib_s_aggregate"])))
        if "mib_s" in bulk.get("baseline", {}):
            rows.append((variant, "bulk baseline rsync -a over ssh, 1 reader (s, MiB/s)",
                         "%.2f, %.1f" % (bulk["baseline"]["seconds"], bulk["baseline"]["mib_s"])))
        if "ratio_per_reader" in bulk:
            rows.append((variant, "bulk ratio replication/baseline, per reader / aggregate",
                         "%.2f / %.2f" % (bulk["ratio_per_reader"], bulk["ratio_aggregate"])))
        if "error" in bulk or "error" in bulk.get("baseline", {}):
            rows.append((variant, "bulk", "FAILED" if "error" in bulk else "baseline FAILED"))
        tree = res.get("tree", {})
        if "initial_s" in tree:
            rows.append((variant, "tree of %d files: initial replication (s)" % tree["files"],
                         "%.1f" % tree["initial_s"]))
        if "change_s" in tree:
            rows.append((variant, "tree: %d changed files on all readers (s)" % tree["changed_files"],
                         "%.2f" % tree["change_s"]))
        elif "error" in tree:
            rows.append((variant, "tree", "FAILED"))
    width = max([len(r[1]) for r in rows] + [6])
    print("== summary (%s, %d swarm nodes, %s)" % (meta.get("date"), meta.get("swarm_nodes", 0), meta.get("commit")))
    print("  %-9s %-*s  %s" % ("variant", width, "figure", "value"))
    for variant, name, value in rows:
        print("  %-9s %-*s  %s" % (variant, width, name, value))


def print_table(paths):
    """One summary over earlier runs' JSON files, so the variants sit side by side."""
    results, metas = {}, []
    for path in paths:
        with open(path) as handle:
            data = json.load(handle)
        metas.append(data["meta"])
        for variant, res in data["results"].items():
            results[variant] = res
    meta = dict(metas[0])
    meta["date"] = ", ".join(sorted(set(m.get("date", "?") for m in metas)))
    meta["commit"] = ", ".join(sorted(set(m.get("commit", "?") for m in metas)))
    summary(meta, results)
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="bind")
    parser.add_argument("--writes", type=int, help="phase 1: number of small writes (default 100; --quick 20)")
    parser.add_argument("--interval", type=float, default=0.2, help="phase 1: seconds between writes (0.2)")
    parser.add_argument("--bulk-mib", type=int, help="phase 2: MiB of mixed files (default 1024; --quick 64)")
    parser.add_argument("--tree-files", type=int, help="phase 3: files in the tree (default 100000; --quick 5000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: writes=20, bulk-mib=64, tree-files=5000")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset of %s" % ",".join(PHASES))
    parser.add_argument("--timeout", type=int, default=600, help="seconds any single wait may take (600)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before each timed step (3)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--table", nargs="+", metavar="JSON",
                        help="print one summary table from the --json files of earlier runs (one per variant) "
                             "and exit; runs nothing")
    lab = parser.add_argument_group("lab")
    lab.add_argument("--primary", default="swarmdata-lab-1", help="writer node container (swarmdata-lab-1)")
    lab.add_argument("--replicas", type=lambda s: [x for x in s.split(",") if x],
                     help="reader node containers, comma-separated (default: every receiver of the stack)")
    lab.add_argument("--namespace", default="uploads", help="namespace the bench writes into (uploads)")
    lab.add_argument("--root", default="/opt/swarmdata", help="replication_root on the nodes (/opt/swarmdata)")
    lab.add_argument("--stack", default="swarmdata", help="Swarm stack name (swarmdata)")
    lab.add_argument("--lab-network", default="swarmdata-lab-net", help="lab network for the baseline's address")
    opts = parser.parse_args(argv)
    quick = {"writes": 20, "bulk_mib": 64, "tree_files": 5000}
    full = {"writes": 100, "bulk_mib": 1024, "tree_files": 100000}
    for name, value in (quick if opts.quick else full).items():
        if getattr(opts, name) is None:
            setattr(opts, name, value)
    opts.phases = [p.strip() for p in opts.phases.split(",") if p.strip()]
    bad = [p for p in opts.phases if p not in PHASES]
    if bad or not opts.phases:
        parser.error("--phases: unknown %s (choose from %s)" % (", ".join(bad) or "(none)", ", ".join(PHASES)))
    if opts.writes < 1 or opts.bulk_mib < 1 or opts.tree_files < 10 or opts.timeout < 1:
        parser.error("--writes and --bulk-mib must be >= 1, --tree-files >= 10, --timeout >= 1")
    return opts


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _cleaning_up(signum, frame):
    print("cleanup in progress (every step has a timeout); please wait", flush=True)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    if opts.table:
        return print_table(opts.table)
    bench = Bench(opts)
    signal.signal(signal.SIGTERM, _interrupt)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "commit": git_commit(), "host_cpus": os.cpu_count(), "pid": bench.pid,
            "options": {"writes": opts.writes, "interval": opts.interval, "bulk_mib": opts.bulk_mib,
                        "tree_files": opts.tree_files, "timeout": opts.timeout, "phases": opts.phases}}
    results = {}
    rc = 0
    try:
        writer, readers, path = VARIANTS[opts.variant](bench)
        meta.update(bench.meta)
        print("swarmdata replication benchmark")
        print("  date:      %s" % meta["date"])
        print("  commit:    %s" % meta["commit"])
        print("  nodes:     %d swarm nodes; writer %s, readers %s" % (meta["swarm_nodes"], writer, ", ".join(readers)))
        print("  variant:   %s (%s)" % (opts.variant, meta.get("variant_settings", "")))
        print("  namespace: %s (bench dir %s)" % (path, bench.dirname))
        print("  options:   writes=%d interval=%gs bulk-mib=%d tree-files=%d timeout=%ds phases=%s" % (
            opts.writes, opts.interval, opts.bulk_mib, opts.tree_files, opts.timeout, ",".join(opts.phases)))
        print("  host:      %s CPUs shared by all lab nodes (and anything else running here)" % meta["host_cpus"],
              flush=True)
        results[opts.variant] = run_phases(bench, writer, readers, path)
        if any("error" in r for r in results[opts.variant].values()):
            rc = 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", flush=True)
        rc = 130
    except BenchError as exc:
        print("error: %s" % exc, flush=True)
        rc = 2
    finally:
        signal.signal(signal.SIGINT, _cleaning_up)
        signal.signal(signal.SIGTERM, _cleaning_up)
        bench.cleanup()
    if results:
        print()
        summary(meta, results)
    if opts.json:
        with open(opts.json, "w") as handle:
            json.dump({"meta": meta, "results": results, "exit_code": rc}, handle, indent=2, sort_keys=True)
        print("figures written to %s" % opts.json)
    return rc


if __name__ == "__main__":
    sys.exit(main())
