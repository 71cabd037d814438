"""Snapshots on a replica, promotion from one, and what failback moves aside (docs/failover.md).

A snapshot is ``/snapshots/<ns>/<UTC time>/``: rsync --link-dest from the previous snapshot, so a file unchanged
since then is a hard link to it and costs no space, and a changed file is a new copy (never cp -al of the live
tree, whose in-place changes would reach back into older snapshots). Its top directory is made read-only.

Where the replica's copy is a btrfs subvolume and the snapshots directory is on the same btrfs filesystem, a
snapshot is instead btrfs's own: a read-only snapshot of the subvolume (``btrfs subvolume snapshot -r``), taken at
once whatever the namespace's size, sharing every unchanged extent with the live copy and the other snapshots.
Anything else (another filesystem, a plain directory, no btrfs-progs, a refusal) gets the rsync snapshot. Removing a
btrfs snapshot needs no CAP_SYS_ADMIN: it is made writable (its owner may), emptied, then removed with rmdir.
"""

import calendar
import errno
import json
import os
import re
import shutil
import stat
import subprocess
import time

SNAPSHOTS = "/snapshots"
DIVERGED = "/diverged"
NAME_RE = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
PARTIAL = ".~tmp~"
COPY_OPTS = ["--archive", "--hard-links", "--numeric-ids", "--exclude=%s/" % PARTIAL]  # rsync --delay-updates' scratch


def stamp(now=None):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


def names(ns, root=None):
    """The namespace's snapshots, oldest first."""
    directory = os.path.join(root or SNAPSHOTS, ns)
    try:
        return sorted(n for n in os.listdir(directory) if NAME_RE.match(n))
    except OSError:
        return []


def expired(existing, keep):
    """The snapshots retention removes: all but the newest ``keep``."""
    existing = sorted(existing)
    return existing[:max(0, len(existing) - keep)]


def snapshot_time(name):
    """Unix time a snapshot name stands for."""
    return calendar.timegm(time.strptime(name.split("-", 1)[0], "%Y%m%dT%H%M%SZ"))


BTRFS_SUBVOLUME_INODE = 256  # the inode number of every btrfs subvolume's top directory


def fs_type(path):
    """The filesystem type of ``path`` as stat -f names it ('btrfs', 'ext2/ext3', ...), '' if unknown."""
    proc = subprocess.run(["stat", "--file-system", "--format=%T", path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def is_subvolume(path):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_ino == BTRFS_SUBVOLUME_INODE and fs_type(path) == "btrfs"


def native_snapshot(source, dest):
    """A read-only btrfs snapshot of subvolume ``source`` at ``dest``: (True, None) if taken, else (False, why)."""
    if shutil.which("btrfs") is None:
        return False, None
    if not is_subvolume(source) or fs_type(os.path.dirname(dest)) != "btrfs":
        return False, None
    proc = subprocess.run(["btrfs", "subvolume", "snapshot", "-r", source, dest], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode == 0:
        return True, None
    # Another btrfs filesystem (EXDEV) or a refusal: the rsync snapshot is as good, only slower.
    return False, (proc.stderr or proc.stdout).strip()[-300:]


def remove_tree(path):
    """Remove a snapshot (its directories are read-only; root may still remove them once writable)."""
    if is_subvolume(path):
        proc = subprocess.run(["btrfs", "subvolume", "delete", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode == 0:
            return
        # Without CAP_SYS_ADMIN (a receiver): its owner may make it writable, then empty it and rmdir it.
        proc = subprocess.run(["btrfs", "property", "set", "-ts", path, "ro", "false"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("cannot make btrfs snapshot %s writable to remove it: %s"
                               % (path, (proc.stderr or proc.stdout).strip()[-300:]))
    for directory, dirs, _files in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(directory, d), stat.S_IRWXU)
    os.chmod(path, stat.S_IRWXU)
    shutil.rmtree(path)


def take(ns, keep, data="/data", root=None, now=None):
    """Snapshot the replica's copy of ``ns`` as it is now; apply retention. Returns what was done."""
    root = root or SNAPSHOTS
    directory = os.path.join(root, ns)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    existing = names(ns, root)
    name = stamp(now)
    n = 1
    while name in existing:
        n += 1
        name = "%s-%d" % (stamp(now), n)
    tmp = os.path.join(directory, ".partial-" + name)
    if os.path.exists(tmp):
        remove_tree(tmp)
    started = time.time()
    native, why = native_snapshot(os.path.join(data, ns), tmp)
    copied = None
    if not native:
        cmd = ["rsync"] + COPY_OPTS + ["--stats"]
        if existing:
            cmd.append("--link-dest=%s" % os.path.join(directory, existing[-1]))
        cmd += [os.path.join(data, ns) + "/", tmp + "/"]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode not in (0, 24):
            if os.path.exists(tmp):
                remove_tree(tmp)
            raise RuntimeError("rsync exit %d: %s" % (proc.returncode, proc.stderr.strip()[-400:]))
        copied = re.search(r"^Total transferred file size: ([\d,]+)", proc.stdout, re.M)
    final = os.path.join(directory, name)
    os.rename(tmp, final)
    if not native:
        os.chmod(final, 0o555)  # a btrfs snapshot is read-only as a whole
    removed = []
    for old in expired(existing + [name], keep):
        remove_tree(os.path.join(directory, old))
        removed.append(old)
    return {"namespace": ns, "snapshot": name, "time": snapshot_time(name), "seconds": round(time.time() - started, 3),
            "kind": "btrfs" if native else "hardlink", "btrfs_refused": why,
            "bytes_copied": 0 if native else int(copied.group(1).replace(",", "")) if copied else None,
            "previous": existing[-1] if existing else None, "removed": removed, "count": len(names(ns, root))}


def promote(ns, source, stamp_name, data="/data", root=None, diverged=None):
    """Make the live copy of ``ns`` the snapshot ``source`` (``latest`` or a name), moving what it replaces aside.

    ``live`` keeps the live copy as it is. Whatever the snapshot does not hold as the live copy does (changed or
    extra files) goes to ``/diverged/<ns>/<stamp>-promote/``, never deleted.
    """
    root = root or SNAPSHOTS
    aside = os.path.join(diverged or DIVERGED, ns, stamp_name + "-promote")
    # A push the old primary did not finish leaves rsync's partial directories behind; they are no one's data now.
    partial = move_partials(os.path.join(data, ns), aside)
    if source == "live":
        return {"namespace": ns, "from": "live", "snapshot": None, "moved_aside": partial,
                "aside": aside if partial else None}
    existing = names(ns, root)
    if source == "latest":
        if not existing:
            raise RuntimeError("namespace %s has no snapshot on this node; use from=live or take one" % ns)
        source = existing[-1]
    if source not in existing:
        raise RuntimeError("namespace %s has no snapshot %r on this node (it has: %s)"
                           % (ns, source, ", ".join(existing) or "none"))
    live = os.stat(os.path.join(data, ns))  # the namespace directory keeps its own owner and mode, not the snapshot's
    cmd = ["rsync"] + COPY_OPTS + ["--delete", "--backup", "--backup-dir=" + aside, "--itemize-changes",
                                   os.path.join(root, ns, source) + "/", os.path.join(data, ns) + "/"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("rsync exit %d: %s" % (proc.returncode, proc.stderr.strip()[-400:]))
    os.chown(os.path.join(data, ns), live.st_uid, live.st_gid)
    os.chmod(os.path.join(data, ns), stat.S_IMODE(live.st_mode))
    moved = sum(1 for _d, _s, files in os.walk(aside) for _f in files) if os.path.isdir(aside) else 0
    return {"namespace": ns, "from": source, "snapshot": source, "moved_aside": moved,
            "aside": aside if moved else None, "changes": len(proc.stdout.splitlines())}


def move_partials(base, aside):
    """Move every ``.~tmp~`` directory (rsync --delay-updates' scratch) under ``base`` into ``aside``; count files."""
    moved = 0
    for directory, dirs, _files in os.walk(base):
        if PARTIAL in dirs:
            dirs.remove(PARTIAL)
            src = os.path.join(directory, PARTIAL)
            dest = os.path.join(aside, os.path.relpath(src, base))
            moved += sum(len(files) for _d, _s, files in os.walk(src))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.move(src, dest)
    return moved


def diverged_paths(itemized):
    """From a dry-run push's ``--itemize-changes`` output, the paths of the receiver's copy the push would delete
    or overwrite (what only that copy holds), new files excluded."""
    paths = []
    for line in itemized.splitlines():
        # "%i %n": 11 characters of flags, a space, the name (kept exactly: it may start or end with spaces).
        if line.startswith("*deleting "):
            paths.append(line[12:])
        elif len(line) > 12 and line[0] in "<>ch" and line[1] in "fL" and "+" not in line[2:11]:
            # A file the receiver has whose content would change (size or time differ, a symlink's target, or a
            # hard link to another file replacing it); an attribute-only change keeps the content, and "+" marks
            # a file new to the receiver.
            flags = line[2:11]
            if line[0] == "h" or line[1] == "L" or flags[0] == "c" or flags[1] == "s" or flags[2] in "tT":
                name = line[12:]
                for arrow in (" -> ", " => "):
                    if line[0] == "h" and arrow == " => " or line[1] == "L" and arrow == " -> ":
                        name = name.split(arrow, 1)[0]
                paths.append(name)
    return paths


def aside(ns, paths, stamp_name, data="/data", diverged=None):
    """Hard-link ``paths`` of the copy of ``ns`` into ``/diverged/<ns>/<stamp>/`` (the push that follows replaces
    or deletes them in the live copy; the links keep them). Returns the count and bytes kept."""
    base = os.path.join(data, ns)
    dest = os.path.join(diverged or DIVERGED, ns, stamp_name)
    files = size = 0
    for rel in paths:
        rel = rel[:-1] if rel.endswith("/") else rel
        src = os.path.normpath(os.path.join(base, rel))
        if not src.startswith(base + "/"):
            raise RuntimeError("refusing a path outside the namespace: %r" % rel)
        if not os.path.lexists(src):
            # A name rsync printed escaped (a newline in it): not kept, so nothing may be replaced. Fail loudly.
            raise RuntimeError("%r is not in the copy of %s; nothing was admitted, keep it aside by hand" % (rel, ns))
        target = os.path.join(dest, os.path.relpath(src, base))
        if os.path.isdir(src) and not os.path.islink(src):
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.lexists(target):
            continue
        try:
            os.link(src, target, follow_symlinks=False)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # The namespace is a filesystem of its own (a disk mounted there): a copy, with its times and mode.
            if os.path.islink(src):
                os.symlink(os.readlink(src), target)
            else:
                shutil.copy2(src, target)
        files += 1
        size += os.lstat(src).st_size
    return {"namespace": ns, "aside": dest if files else None, "files": files, "bytes": size}


def main(argv):
    """mover snapshot-take|promote|aside ...: print one JSON result."""
    command, args = argv[0], argv[1:]
    # The day-2 tasks mount the whole root at /swarmdata, so the namespaces, snapshots and diverged directories
    # are one mount (a hard link cannot cross two bind mounts, even of one filesystem).
    base = os.environ.get("MOVER_BASE", "/swarmdata")
    data, root, diverged = (os.path.join(base, d) for d in ("namespaces", "snapshots", "diverged"))
    if command == "promote":
        result = promote(args[0], args[1], args[2], data=data, root=root, diverged=diverged)
    elif command == "aside":
        # failback.yml leaves the list of paths next to where they go.
        with open(os.path.join(diverged, "%s-%s.paths.json" % (args[0], args[1]))) as handle:
            result = aside(args[0], json.load(handle), args[1], data=data, diverged=diverged)
    elif command == "list":
        result = {"namespace": args[0], "snapshots": names(args[0], root)}
    else:
        raise SystemExit("usage: mover promote NS FROM STAMP | aside NS STAMP | list NS")
    print(json.dumps(result, sort_keys=True))
