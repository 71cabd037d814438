"""The poller, run inside each reader node by ``docker exec -i <node> python3 -u -c <this file> <root>``.

One per reader, for the whole run. Commands on stdin, one per line:
  W <rel> <size> <md5|->   report "F <rel> <time>" once <rel> exists with <size> bytes (and that md5)
  C <rel> <n>              report "C <rel> <time> <count>" once <rel> holds >= n regular files
  G <rel>                  report "G <rel> <time>" once <rel> no longer exists
  S <token>                barrier: answered "S <token>" after every earlier command took effect
  R <token>                list what is still awaited ("P ..." lines), then "R <token>"
  X                        forget everything awaited          Q / EOF: exit
Names starting with "." below a counted directory are not counted (rsync's temporary files and
the .~tmp~ directories of --delay-updates). Never imported by the bench: its source is sent to the node.
"""
import hashlib
import os
import sys
import threading
import time

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
