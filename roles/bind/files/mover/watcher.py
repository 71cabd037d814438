"""The bind sender's change watcher: inotify on each namespace, a set of changed paths per replica, one rsync per batch.

It replaces lsyncd (docs/bind.md, "Pieces"). lsyncd keeps each sync's events in a queue and, for every new
event, walks that queue backwards to combine or order it, so a burst of N new files costs it about N * N / 2 steps
per replica: during a 100 000-file tree it used 91 s of CPU and sent the first batch long after the last write.
Here an event is one insertion into a set per replica (a path already there costs nothing), and a batch is the
set, taken whole:

- fewer than ``limit`` paths: one rsync whose filter list includes just those paths and their parent directories
  (what lsyncd sends too), so a few changed files in a big namespace cost a walk of their directories only;
  from DIR_PATHS changed files in one directory on, the directory's entries instead (one rule, ``dir/*``): a
  burst of new files, written a directory after another, costs a walk of the directories it filled, not of the
  whole namespace, and rsync's rules stay few (it matches every file it meets against every rule);
- ``limit`` paths or more, the sender's start, an inotify queue overflow, the periodic reconcile: one pass of the
  whole namespace. The set stops growing at ``limit``, so memory and time per event stay bounded.

A created or moved-in directory is sent with everything in it (``dir/***``), because files made in it before its
watch was added have no events of their own; a deleted or moved-out one too, so the receiver's copy goes with all
it held. A batch that fails goes back into the set, merged with what came meanwhile, and is retried (1, 2, 4 ... 30 s
apart): a replica that is down never holds up another (each replica has its own set and its own worker).

inotify through ctypes: Python's standard library has no binding, and the image needs no other package for it.
"""

import ctypes
import errno
import os
import re
import select
import struct
import threading
import time

IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
# A file counts when it is closed after writing (never half-written), and when it is created (a symlink, a hard link,
# a device node have no close): the same events lsyncd's CloseWrite mode takes.
MASK = (IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR
        | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then len bytes of name)
TREE = b"/***"  # a directory and everything in it
DIR = b"/"      # a directory itself (its attributes; a parent that must be entered)
ALL = b"/*"     # every entry of a directory, not what is inside its subdirectories
FILE = b""
DIR_PATHS = 64  # changed files of one directory from which a batch takes all the directory's entries instead
RETRY_SECONDS = (1, 2, 4, 8, 16, 30)
MAX_EVENTS = 65536  # read at most about this many events before handing them over


class Overflow(Exception):
    """The kernel dropped events: the queue of an inotify instance was full."""


class Inotify(object):
    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        self.libc = libc
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "inotify_init1: %s" % os.strerror(err))

    def add(self, path):
        wd = self.libc.inotify_add_watch(self.fd, path, MASK)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), os.fsdecode(path))
        return wd

    def remove(self, wd):
        self.libc.inotify_rm_watch(self.fd, wd)  # a watch already gone (its directory deleted) is no error

    def read(self, timeout):
        """[(wd, mask, name)] of every event queued now, after waiting up to ``timeout`` s for the first."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        events = []
        while True:
            if len(events) >= MAX_EVENTS:
                return events  # under a steady stream there is always more: hand over what there is
            try:
                buf = os.read(self.fd, 1 << 18)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(buf):
                wd, mask, _cookie, length = EVENT.unpack_from(buf, offset)
                offset += EVENT.size
                events.append((wd, mask, buf[offset:offset + length].rstrip(b"\0")))
                offset += length

    def close(self):
        os.close(self.fd)


def join(parent, name):
    return parent + b"/" + name if parent else name


class Pending(object):
    """What one replica still needs of one namespace: a set of (path, kind), or a whole pass."""

    def __init__(self, limit):
        self.limit = limit
        self.cond = threading.Condition()
        self.changes = set()
        self.files = {}  # directory: how many of its files ``changes`` names one by one
        self.whole = True  # a worker's first batch is the startup sync
        self.since = 0.0   # when what is pending began to pend (monotonic)

    def add(self, changes):
        with self.cond:
            if not self.whole and not self.changes:
                self.since = time.monotonic()
            self.merge(changes)

    def merge(self, changes):
        """(The condition held.) The set stops growing at ``limit`` paths: a pass of the whole namespace instead."""
        if not self.whole:
            for change in changes:
                if change in self.changes:
                    continue
                path, kind = change
                if kind == FILE:
                    parent = path.rpartition(b"/")[0]
                    if (parent, ALL) in self.changes:
                        continue
                    count = self.files[parent] = self.files.get(parent, 0) + 1
                    if count >= DIR_PATHS:
                        self.changes = set(c for c in self.changes
                                           if c[1] != FILE or c[0].rpartition(b"/")[0] != parent)
                        change = (parent, ALL)
                self.changes.add(change)
            if len(self.changes) >= self.limit:
                self.whole = True
            if self.whole:
                self.changes, self.files = set(), {}
        self.cond.notify()

    def everything(self, now=False):
        """A pass of the whole namespace; ``now``: without waiting the delay (a retry, the reconcile)."""
        with self.cond:
            if not self.whole and not self.changes:
                self.since = time.monotonic()
            if now:
                self.since = 0.0
            self.whole, self.changes, self.files = True, set(), {}
            self.cond.notify()

    def put_back(self, whole, changes):
        """A batch that failed: it is due again at once, with whatever came meanwhile."""
        if whole:
            self.everything(now=True)
            return
        with self.cond:
            self.since = 0.0
            self.merge(changes)

    def take(self, delay, whole_not_before=0.0):
        """Wait for something to send and until ``delay`` s after it began to pend, and a pass of the whole
        namespace also until ``whole_not_before`` (monotonic); then (whole, changes)."""
        with self.cond:
            while not (self.whole or self.changes):
                self.cond.wait()
            now = time.monotonic()
            wait = self.since + delay - now
            if self.whole:
                wait = max(wait, whole_not_before - now)
        if wait > 0:
            time.sleep(wait)
        with self.cond:
            whole, changes = self.whole, self.changes
            self.whole, self.changes, self.files = False, set(), {}
            return whole, changes


WILD = re.compile(rb"[*?\[]")
ESCAPE = re.compile(rb"([\\*?\[])")


def pattern(path, kind):
    """An rsync include rule anchored at the namespace's top for ``path`` (bytes, relative). rsync reads a rule with
    a wildcard character in it as a pattern, where a backslash escapes; one without, literally."""
    if kind in (TREE, ALL) or WILD.search(path):
        path = ESCAPE.sub(rb"\\\1", path)
    if kind == ALL and not path:
        return ALL  # the entries of the namespace's top
    return b"/" + path + kind


def filter_list(changes):
    """The NUL-separated include list of a batch: each changed path and every directory above it."""
    rules = set()
    for path, kind in changes:
        rules.add(pattern(path, kind))
        if kind == ALL and path:
            rules.add(pattern(path, DIR))  # the directory itself, to be entered
        while b"/" in path:
            path = path.rsplit(b"/", 1)[0]
            rule = pattern(path, DIR)
            if rule in rules:
                break
            rules.add(rule)
    return b"\0".join(sorted(rules)) + b"\0"


class Namespace(object):
    """The watches of one namespace directory, every directory in it watched: {wd: its path, relative}."""

    def __init__(self, root):
        self.root = os.fsencode(root.rstrip("/"))
        self.inotify = None
        self.dirs = {}

    def start(self):
        """Watch the whole tree afresh (a new inotify instance: it takes the kernel's queue limit of now)."""
        if self.inotify is not None:
            self.inotify.close()
        self.inotify = Inotify()
        self.dirs = {}
        self.watch_tree(b"")

    def watch_tree(self, top):
        """Watch ``top`` and every directory below it, each before it is listed, so nothing made in it after the
        listing is missed (what was there before is sent with ``top``'s TREE rule, or by the startup sync)."""
        stack = [top]
        while stack:
            rel = stack.pop()
            path = self.root + b"/" + rel if rel else self.root
            try:
                self.dirs[self.inotify.add(path)] = rel
                with os.scandir(path) as entries:
                    stack.extend(join(rel, e.name) for e in entries if e.is_dir(follow_symlinks=False))
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    continue  # gone again already: its deletion has an event of its own
                if exc.errno == errno.ENOSPC:
                    raise OSError(exc.errno, "out of inotify watches at %s: raise fs.inotify.max_user_watches "
                                  "(node_prep_sysctl)" % os.fsdecode(path)) from exc
                raise

    def unwatch_tree(self, top):
        """A directory moved away: its watches (they follow the inode) no longer mean the paths they had."""
        prefix = top + b"/"
        for wd, rel in list(self.dirs.items()):
            if rel == top or rel.startswith(prefix):
                self.inotify.remove(wd)
                del self.dirs[wd]

    def changes(self, timeout):
        """The set of (path, kind) that changed, from the events queued now; Overflow if the kernel dropped some."""
        changes = set()
        for wd, mask, name in self.inotify.read(timeout):
            if mask & IN_Q_OVERFLOW:
                raise Overflow()
            if mask & IN_IGNORED:
                self.dirs.pop(wd, None)
                continue
            parent = self.dirs.get(wd)
            if parent is None or not name:
                continue  # an event of a directory's own (the namespace's top is the guard's) or of a dropped watch
            path = join(parent, name)
            if not mask & IN_ISDIR:
                changes.add((path, FILE))
                continue
            if mask & IN_MOVED_FROM:
                self.unwatch_tree(path)
            if mask & (IN_CREATE | IN_MOVED_TO):
                self.watch_tree(path)
            changes.add((path, TREE if mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) else DIR))
        return changes


def watch(tree, root, pendings, log):
    """Run forever: the events of a namespace's ``tree`` (at ``root``, started) into every replica's Pending."""
    while True:
        try:
            changes = tree.changes(1.0)
        except Overflow:
            log("inotify queue OVERFLOW on %s: events were lost; watching it afresh, then a pass of the whole "
                "namespace to every replica" % root)
            tree.start()
            for pending in pendings:
                pending.everything(now=True)
            continue
        if changes:
            for pending in pendings:
                pending.add(changes)


def send_loop(pending, delay, send, describe, log):
    """Run forever: take one replica's pending batch, send it (``send(whole, changes)`` returns rsync's exit code),
    and put a failed one back to retry, waiting longer after each failure in a row.

    A pass of the whole namespace that took T s is followed by the next such pass no sooner than T s after it
    ended: during a burst of files (every batch past ``limit``) the passes, each a walk of the whole namespace on
    both ends, then take at most about half of the time, and the application writing the burst keeps the rest."""
    failures = 0
    whole_not_before = 0.0
    while True:
        whole, changes = pending.take(delay, whole_not_before)
        started = time.monotonic()
        rc = send(whole, changes)
        if whole:
            ended = time.monotonic()
            whole_not_before = ended + (ended - started)
        if rc in (0, 24):
            failures = 0
            continue
        wait = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
        failures += 1
        log("%s of %s failed (rsync exit %d); retrying in %d s" % (
            "a pass of the whole namespace" if whole else "a batch of %d paths" % len(changes), describe, rc, wait))
        time.sleep(wait)
        pending.put_back(whole, changes)
