"""The bind sender's change watcher (roles/bind/files/mover/watcher.py) on real inotify and a real local rsync.

Each tree test changes a real directory, takes the watcher's changes, sends them as the sender does (an rsync whose
filter list holds just those paths) into a copy that was identical before, and compares the two trees."""

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

WATCHER = Path(__file__).resolve().parents[2] / "roles" / "bind" / "files" / "mover" / "watcher.py"


@pytest.fixture
def watcher(load_source):
    return load_source("watcher_under_test", WATCHER)


def collect(tree, quiet=0.3, limit=10.0):
    """Every change until no event came for ``quiet`` s."""
    changes = set()
    deadline = time.time() + limit
    while time.time() < deadline:
        got = tree.changes(quiet)
        if not got:
            return changes
        changes |= got
    raise AssertionError("events never stopped")


def snapshot(root):
    """{relative path: (kind, mode, content or link target)} of everything under ``root``."""
    out = {}
    for path, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(path, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir", st.st_mode)
            else:
                with open(full, "rb") as handle:
                    out[rel] = ("file", st.st_mode, handle.read())
    return out


@pytest.fixture
def pair(watcher, tmp_path):
    """(source, replica, tree): a source namespace with some content, an identical replica, the source watched."""
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    src = tmp_path / "src"
    (src / "keep" / "deep").mkdir(parents=True)
    (src / "keep" / "deep" / "k").write_text("kept")
    (src / "old").mkdir()
    (src / "old" / "o").write_text("to be deleted with its directory")
    (src / "file").write_text("first")
    dest = tmp_path / "dest"
    subprocess.run(["rsync", "-a", str(src) + "/", str(dest) + "/"], check=True)
    tree = watcher.Namespace(str(src))
    tree.start()
    return src, dest, tree


def send(watcher, src, dest, changes):
    """The sender's batch: rsync of the namespace with only the batch's paths, from its filter list on stdin."""
    subprocess.run(["rsync", "-a", "--delete", "--from0", "--include-from=-", "--exclude=*", str(src) + "/",
                    str(dest) + "/"], input=watcher.filter_list(changes), check=True)


def test_files_directories_moves_and_deletes_become_paths(watcher, pair):
    src, _dest, tree = pair
    (src / "new").write_text("x")
    os.chmod(src / "file", 0o600)
    os.symlink("file", src / "link")
    (src / "made").mkdir()
    (src / "made" / "inside").write_text("y")
    shutil.rmtree(src / "old")
    changes = collect(tree)
    assert (b"new", watcher.FILE) in changes and (b"file", watcher.FILE) in changes
    assert (b"link", watcher.FILE) in changes  # a symlink has no close: its creation counts
    assert (b"made", watcher.TREE) in changes and (b"old", watcher.TREE) in changes
    # The new directory is watched now: a file made in it later is a path of its own.
    (src / "made" / "later").write_text("z")
    assert collect(tree) == {(b"made/later", watcher.FILE)}
    # A moved directory's watch follows it, under its new path.
    os.rename(src / "made", src / "moved")
    assert collect(tree) == {(b"made", watcher.TREE), (b"moved", watcher.TREE)}
    (src / "moved" / "after").write_text("w")
    assert collect(tree) == {(b"moved/after", watcher.FILE)}
    assert b"made" not in tree.dirs.values() and b"moved" in tree.dirs.values()
    # Moved out of the namespace: no longer watched, what happens to it there is none of the namespace's business.
    os.rename(src / "moved", src.parent / "outside")
    assert collect(tree) == {(b"moved", watcher.TREE)}
    (src.parent / "outside" / "elsewhere").write_text("v")
    assert collect(tree) == set()


def test_a_batch_of_the_changes_makes_the_replica_identical(watcher, pair):
    src, dest, tree = pair
    (src / "file").write_text("second")
    os.chmod(src / "keep" / "deep" / "k", 0o640)
    shutil.rmtree(src / "old")
    # A tree made at once: files in it can exist before the watcher adds its watch, and must still arrive.
    for d in ("a", "a/b", "a/b/c"):
        (src / d).mkdir()
        for i in range(50):
            (src / d / ("f%d" % i)).write_text("%s %d" % (d, i))
    for name in ("star*", "what?", "[set]", "back\\slash", "new\nline"):
        (src / "keep" / name).write_text(name)
        (src / name).mkdir()
        (src / name / "in").write_text(name)
    os.link(src / "file", src / "hard")
    os.rename(src / "keep" / "deep", src / "renamed")
    send(watcher, src, dest, collect(tree))
    assert snapshot(dest) == snapshot(src)
    # And the deletion of what the last batch brought, the moved tree included.
    shutil.rmtree(src / "a")
    shutil.rmtree(src / "renamed")
    for name in ("star*", "what?", "[set]", "back\\slash", "new\nline"):
        os.remove(src / "keep" / name)
        shutil.rmtree(src / name)
    send(watcher, src, dest, collect(tree))
    assert snapshot(dest) == snapshot(src)


def test_a_batch_leaves_what_it_does_not_name(watcher, pair):
    src, dest, tree = pair
    (dest / "keep" / "only-on-the-replica").write_text("drift: the reconcile's job, not a batch's")
    (src / "file").write_text("changed")
    send(watcher, src, dest, collect(tree))
    assert (dest / "file").read_text() == "changed"
    assert (dest / "keep" / "only-on-the-replica").exists()


def test_many_files_of_one_directory_become_its_entries_and_only_its_own(watcher, pair):
    """From DIR_PATHS changed files of a directory on, the batch takes the directory's entries (``dir/*``): new,
    changed and deleted ones, never what is inside its subdirectories; at the namespace's top too."""
    src, dest, tree = pair
    pending = watcher.Pending(limit=1000)
    pending.take(0)
    (dest / "keep" / "deep" / "drift").write_text("only on the replica, below the directory: not this batch's")
    for i in range(watcher.DIR_PATHS + 10):
        (src / "keep" / ("n%03d" % i)).write_text("new %d" % i)
        (src / ("top%03d" % i)).write_text("top %d" % i)
    os.remove(src / "file")
    pending.add(collect(tree))
    whole, changes = pending.take(0)
    assert not whole and changes == {(b"keep", watcher.ALL), (b"", watcher.ALL)}, sorted(changes)[:5]
    send(watcher, src, dest, changes)
    want = snapshot(src)
    want["keep/deep/drift"] = snapshot(dest)["keep/deep/drift"]
    assert snapshot(dest) == want


def test_pending_takes_a_directory_whole_from_its_many_files_on(watcher):
    pending = watcher.Pending(limit=1000)
    pending.take(0)
    pending.add({(b"d/f%d" % i, watcher.FILE) for i in range(watcher.DIR_PATHS - 1)} | {(b"e/x", watcher.FILE)})
    assert len(pending.changes) == watcher.DIR_PATHS
    pending.add({(b"d/last", watcher.FILE), (b"d/sub", watcher.TREE)})
    assert pending.changes == {(b"d", watcher.ALL), (b"d/sub", watcher.TREE), (b"e/x", watcher.FILE)}
    pending.add({(b"d/later", watcher.FILE)})  # already covered
    assert pending.take(0) == (False, {(b"d", watcher.ALL), (b"d/sub", watcher.TREE), (b"e/x", watcher.FILE)})
    assert pending.files == {}


def test_the_filter_list_names_every_parent_once_and_escapes_wildcards(watcher):
    rules = watcher.filter_list({(b"a/b/c", watcher.FILE), (b"a/b/d", watcher.FILE), (b"x*y", watcher.TREE),
                                 (b"p\\q", watcher.FILE), (b"r[1]", watcher.FILE)})
    assert rules.split(b"\0")[:-1] == sorted([b"/a/", b"/a/b/", b"/a/b/c", b"/a/b/d", b"/x\\*y/***", b"/p\\q",
                                              b"/r\\[1]"])
    rules = watcher.filter_list({(b"a/b", watcher.ALL), (b"", watcher.ALL), (b"p\\q", watcher.ALL)})
    assert rules.split(b"\0")[:-1] == sorted([b"/*", b"/a/", b"/a/b/", b"/a/b/*", b"/p\\q/", b"/p\\\\q/*"])
    # (the directory's own rule has no wildcard: rsync reads it literally, backslash and all)


def test_pending_collects_a_set_and_becomes_a_whole_pass_at_its_limit(watcher):
    pending = watcher.Pending(limit=3)
    assert pending.take(0) == (True, set())  # the startup sync comes first
    pending.add({(b"a", b""), (b"b", b"")})
    pending.add({(b"a", b"")})  # a path twice is one path
    assert pending.take(0) == (False, {(b"a", b""), (b"b", b"")})
    pending.add({(b"a", b""), (b"b", b""), (b"c", b"")})
    assert pending.take(0) == (True, set())  # too many to list: the whole namespace, paths no longer kept
    assert pending.changes == set() and not pending.whole


def test_pending_waits_the_delay_after_the_first_change_of_a_batch(watcher):
    pending = watcher.Pending(limit=100)
    pending.take(0)
    pending.add({(b"a", b"")})
    started = time.monotonic()
    threading.Timer(0.1, pending.add, [{(b"b", b"")}]).start()  # comes during the delay: same batch
    assert pending.take(0.3) == (False, {(b"a", b""), (b"b", b"")})
    assert time.monotonic() - started >= 0.29
    pending.put_back(False, {(b"a", b"")})  # a failed batch is due at once
    started = time.monotonic()
    assert pending.take(5) == (False, {(b"a", b"")})
    assert time.monotonic() - started < 1


def test_a_whole_pass_waits_until_the_rest_after_the_last_one(watcher):
    pending = watcher.Pending(limit=2)
    pending.take(0)
    pending.add({(b"a", b"")})
    started = time.monotonic()
    assert pending.take(0, whole_not_before=started + 5) == (False, {(b"a", b"")})  # a list of paths: no rest
    assert time.monotonic() - started < 1
    pending.add({(b"a", b""), (b"b", b"")})
    assert pending.take(0, whole_not_before=time.monotonic() + 0.3) == (True, set())
    assert time.monotonic() - started >= 0.29


def test_passes_of_the_whole_namespace_rest_as_long_as_they_took(watcher):
    pending = watcher.Pending(limit=1)
    pending.take(0)
    times = []
    done = threading.Event()

    def send(whole, _changes):
        times.append((time.monotonic(), whole))
        if len(times) < 3:
            time.sleep(0.2)  # the pass takes 0.2 s
            pending.add({(b"more", b"")})  # and the burst goes on: the next batch is past the limit again
        else:
            done.set()
        return 0

    pending.add({(b"start", b"")})  # past the limit: a whole pass
    threading.Thread(target=watcher.send_loop, args=(pending, 0, send, "wiki to recv-n2", print),
                     daemon=True).start()
    assert done.wait(5)
    assert [w for _t, w in times] == [True, True, True]
    assert times[1][0] - times[0][0] >= 0.39 and times[2][0] - times[1][0] >= 0.39  # 0.2 s pass + 0.2 s rest


def test_a_failed_batch_is_retried_with_what_came_meanwhile(watcher, monkeypatch):
    monkeypatch.setattr(watcher, "RETRY_SECONDS", (0,))
    pending = watcher.Pending(limit=100)
    pending.take(0)
    sent = []
    done = threading.Event()

    def send(whole, changes):
        sent.append((whole, set(changes)))
        if len(sent) == 1:
            pending.add({(b"meanwhile", b"")})
            return 255  # ssh could not connect
        done.set()
        return 0

    logs = []
    pending.add({(b"first", b"")})
    threading.Thread(target=watcher.send_loop, args=(pending, 0, send, "wiki to recv-n2", logs.append),
                     daemon=True).start()
    assert done.wait(5)
    assert sent == [(False, {(b"first", b"")}), (False, {(b"first", b""), (b"meanwhile", b"")})]
    assert logs == ["a batch of 1 paths of wiki to recv-n2 failed (rsync exit 255); retrying in 0 s"]
