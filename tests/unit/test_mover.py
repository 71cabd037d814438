"""The bind mover's own logic (roles/bind/files/mover/mover.py), without a network: the rsync of a batch, and the
status/metrics recorded around a real local rsync."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

MOVER = Path(__file__).resolve().parents[2] / "roles" / "bind" / "files" / "mover" / "mover.py"
sys.path.insert(0, str(MOVER.parent))  # mover.py imports its siblings fence.py and snapshots.py
sys.dont_write_bytecode = True  # no __pycache__ in the image's build files


@pytest.fixture
def mover(tmp_path, monkeypatch, load_source):
    monkeypatch.setenv("MOVER_STATE_DIR", str(tmp_path / "state"))
    module = load_source("mover_under_test", MOVER)
    module.SSH_CONTROL_DIR = str(tmp_path / "ssh")  # rsh() makes it
    return module


def test_a_batch_and_a_whole_pass_differ_only_by_the_filter_list(mover, monkeypatch):
    monkeypatch.setenv("MOVER_NODE", "n1")
    whole = mover.batch_cmd("wiki", "recv-n2")
    batch = mover.batch_cmd("wiki", "recv-n2", whole=False)
    assert whole[-2:] == batch[-2:] == ["/data/wiki/", "recv-n2:wiki/"]
    assert [a for a in batch if a not in mover.FILTER_ARGS] == whole
    assert "--delete" in whole and "--delay-updates" in whole and "--ignore-errors" not in whole
    assert any("StrictHostKeyChecking=yes" in a for a in whole)
    assert mover.full_pass_cmd("wiki", "recv-n2") == ["/usr/local/bin/mover-rsync"] + whole


@pytest.fixture
def unguarded(mover, tmp_path, monkeypatch):
    """The wrapper's sources under a temporary /data, every namespace accepted by the guard."""
    monkeypatch.setattr(mover, "DATA", str(tmp_path / "data"))
    monkeypatch.setattr(mover, "check_namespace", lambda ns, **kwargs: None)
    return tmp_path / "data"


def test_rsync_wrapper_records_success_bytes_and_metrics(mover, unguarded, tmp_path, monkeypatch):
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    src = unguarded / "wiki"
    src.mkdir(parents=True)
    (src / "f").write_bytes(b"x" * 5000)
    dest = tmp_path / "recv-node2:wiki"  # a local path that reads like the wrapper's remote target
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOVER_REPLICAS", "recv-node2=node2 recv-node3=node3")
    monkeypatch.setattr(mover.subprocess, "run", _local_rsync(mover.subprocess.run))
    rc = mover.rsync_wrapper(["-a", str(src) + "/", "recv-node2:wiki/"])
    assert rc == 0
    assert (dest / "f").read_bytes() == b"x" * 5000
    entry = json.loads((tmp_path / "state" / "bind" / "node2" / "wiki.json").read_text())
    assert entry["runs_total"] == 1 and entry["errors_total"] == 0
    assert entry["last_bytes_sent"] > 5000 and entry["last_files_transferred"] == 1
    metrics = (tmp_path / "state" / "bind" / "metrics.prom").read_text()
    assert 'swarmdata_bind_syncs_total{replica="node2",namespace="wiki"} 1' in metrics
    assert "# TYPE swarmdata_bind_bytes_sent_total counter" in metrics


def test_rsync_wrapper_counts_a_failure_without_touching_last_success(mover, unguarded, tmp_path, monkeypatch):
    (unguarded / "db").mkdir(parents=True)
    (tmp_path / "recv-node3:db").write_text("a file where the receiver's directory should be: rsync fails")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOVER_REPLICAS", "recv-node2=node2 recv-node3=node3")
    monkeypatch.setattr(mover.subprocess, "run", _local_rsync(mover.subprocess.run))
    assert mover.rsync_wrapper(["-a", str(unguarded / "db") + "/", "recv-node3:db/"]) != 0
    entry = json.loads((tmp_path / "state" / "bind" / "node3" / "db.json").read_text())
    assert entry["errors_total"] == 1 and entry["last_success"] is None


def test_status_is_recorded_under_the_inventory_hostname_not_the_service_name(mover, unguarded, tmp_path,
                                                                              monkeypatch):
    # A host whose name is not service-safe: its receiver is recv-node2-example-com.
    (unguarded / "db").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOVER_REPLICAS", "recv-node2-example-com=node2.example.com")
    monkeypatch.setattr(mover.subprocess, "run", _local_rsync(mover.subprocess.run))
    mover.rsync_wrapper(["-a", str(unguarded / "db") + "/", "recv-node2-example-com:db/"])
    assert (tmp_path / "state" / "bind" / "node2.example.com" / "db.json").is_file()
    assert 'replica="node2.example.com"' in (tmp_path / "state" / "bind" / "metrics.prom").read_text()


def _batch(mover, paths):
    """A batch of the watcher's (path, kind) changes, sent as the sender sends it."""
    return mover.send_batch("wiki", "recv-node2", False, set(paths))


@pytest.fixture
def batch_tree(mover, unguarded, tmp_path, monkeypatch):
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    src = unguarded / "wiki"
    for name in ("a", "b", "c"):
        (src / "d").mkdir(parents=True, exist_ok=True)
        (src / "d" / name).write_text(name)
    dest = tmp_path / "recv-node2:wiki"
    (dest / "d").mkdir(parents=True)
    (dest / "d" / "gone").write_text("deleted on the primary")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOVER_REPLICAS", "recv-node2=node2")
    monkeypatch.setattr(mover.subprocess, "run", _local_rsync(mover.subprocess.run))
    return src, dest


def test_a_batch_sends_only_its_paths(mover, batch_tree):
    src, dest = batch_tree
    assert _batch(mover, [(b"d/a", b"")]) == 0
    assert sorted(p.name for p in (dest / "d").iterdir()) == ["a", "gone"]  # b, c, the deletion: not in the batch
    assert _batch(mover, [(b"d/gone", b"")]) == 0  # a deletion is a path of the batch like any other
    assert sorted(p.name for p in (dest / "d").iterdir()) == ["a"]
    entry = json.loads((src.parents[1] / "state" / "bind" / "node2" / "wiki.json").read_text())
    assert entry["runs_total"] == 2 and entry["last_exit_code"] == 0


def test_a_whole_pass_sends_everything_with_its_deletions(mover, batch_tree):
    src, dest = batch_tree
    assert mover.send_batch("wiki", "recv-node2", True, set()) == 0
    assert sorted(p.name for p in (dest / "d").iterdir()) == ["a", "b", "c"]
    entry = json.loads((src.parents[1] / "state" / "bind" / "node2" / "wiki.json").read_text())
    assert entry["last_files_transferred"] == 3


def test_pushes_share_a_connection_only_with_the_same_fence_claim(mover, monkeypatch, tmp_path):
    # A shared connection's sessions carry the SetEnv of the ssh that opened it: a connection per claim.
    monkeypatch.setattr(mover, "SSH_CONTROL_DIR", str(tmp_path / "ssh"))
    monkeypatch.setenv("MOVER_NODE", "n1")
    monkeypatch.setenv("MOVER_FENCES", json.dumps({"wiki": {"epoch": 2, "primary": "n1", "fenced": []},
                                                   "db": {"epoch": 1, "primary": "n1", "fenced": []},
                                                   "logs": {"epoch": 1, "primary": "n1", "fenced": []}}))

    def control_path(command):
        [path] = [o.split("=", 1)[1] for o in command.split() if o.startswith("ControlPath=")]
        return path

    wiki, db, logs = mover.rsh("wiki"), mover.rsh("db"), mover.rsh("logs")
    assert "ControlMaster=auto" in wiki and "SetEnv=MOVER_FENCE=n1:2" in wiki and "SetEnv=MOVER_FENCE=n1:1" in db
    assert control_path(wiki) != control_path(db)
    assert control_path(db) == control_path(logs)
    assert all(c.count("ControlPath=") == 1 for c in (wiki, db))  # ssh takes the first of repeated options
    assert (tmp_path / "ssh").is_dir()


def test_replica_names_pairs_receivers_with_hosts(mover, monkeypatch):
    monkeypatch.setenv("MOVER_REPLICAS", "recv-a=a.example recv-b=b")
    assert mover.replica_names() == {"recv-a": "a.example", "recv-b": "b"}


def _local_rsync(real_run):
    """Run rsync locally: 'recv-node2:wiki/' becomes the local directory 'recv-node2:wiki/'."""

    def run(cmd, **kwargs):
        cmd = list(cmd)
        # Absolute: the wrapper runs rsync from inside the namespace directory it checked.
        cmd[-1] = os.path.join(os.getcwd(), cmd[-1])
        return real_run(cmd, **kwargs)

    return run


# ---------------------------------------------------------------- namespace guard (docs/data-safety.md)
ID = "8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11"


@pytest.fixture
def data(tmp_path, monkeypatch, mover):
    root = tmp_path / "data"
    (root / "wiki").mkdir(parents=True)
    (root / "wiki" / ".swarmdata-id").write_text(ID + "\n")
    monkeypatch.setenv("MOVER_NAMESPACE_IDS", "wiki=%s db=" % ID)
    return root


def test_guard_accepts_the_marked_namespace(mover, data):
    assert mover.check_namespace("wiki", data=str(data)) is None


def test_guard_refuses_missing_marker_foreign_marker_missing_dir_and_unknown_id(mover, data):
    (data / "wiki" / ".swarmdata-id").unlink()
    assert "marker .swarmdata-id is missing" in mover.check_namespace("wiki", data=str(data))
    (data / "wiki" / ".swarmdata-id").write_text("another\n")
    assert "holds identity another" in mover.check_namespace("wiki", data=str(data))
    (data / "wiki" / ".swarmdata-id").unlink()
    (data / "wiki").rmdir()
    assert "directory is missing" in mover.check_namespace("wiki", data=str(data))
    assert "no identity" in mover.check_namespace("db", data=str(data))


def test_refusal_names_namespace_node_and_the_way_out(mover, monkeypatch):
    monkeypatch.setenv("MOVER_NODE", "node1")
    monkeypatch.setenv("MOVER_ROOT", "/opt/swarmdata")
    msg = mover.refusal_message("wiki", "its marker .swarmdata-id is missing")
    assert msg.startswith("REFUSED namespace wiki on node1:")
    assert "/opt/swarmdata/namespaces/wiki" in msg and "accept_namespace.yml -e namespace=wiki" in msg


def test_guard_state_and_metric(mover, tmp_path, monkeypatch):
    monkeypatch.setenv("MOVER_NODE", "node1")
    (tmp_path / "state" / "bind").mkdir(parents=True)
    mover.write_guard({"wiki": "its marker is missing", "db": None})
    guard = json.loads((tmp_path / "state" / "bind" / "guard.json").read_text())
    assert guard["wiki"]["refused"] is True and guard["db"]["refused"] is False
    prom = (tmp_path / "state" / "bind" / "metrics.prom").read_text()
    assert 'swarmdata_namespace_refused{namespace="wiki",node="node1"} 1' in prom
    assert 'swarmdata_namespace_refused{namespace="db",node="node1"} 0' in prom


def test_privileged_files_are_stripped_unless_asked(mover, monkeypatch):
    assert mover.privilege_opts() == ["--chmod=ugo-s", "--no-devices", "--no-specials"]
    assert "--no-devices" in mover.batch_cmd("wiki", "recv-n2", whole=False)
    monkeypatch.setenv("MOVER_PRESERVE_PRIVILEGED", "true")
    assert mover.privilege_opts() == []


def test_guard_row():
    from ansible_collections.swarmdata.replication.plugins.filter.guard_row import guard_row

    assert guard_row({"namespace": "wiki", "node": "n1", "refused": False}).endswith(" ok")
    line = guard_row({"namespace": "wiki", "node": "n1", "refused": True, "reason": "its marker is missing"})
    assert "REFUSED: its marker is missing" in line and "wiki" in line and "n1" in line


def test_a_marker_that_is_not_utf8_is_refused_not_a_crash(mover, data):
    (data / "wiki" / ".swarmdata-id").write_bytes(b"\xff\xfe garbage")
    assert "holds identity" in mover.check_namespace("wiki", data=str(data))


def test_the_wrapper_refuses_a_transfer_it_cannot_check(mover, monkeypatch):
    calls = []
    monkeypatch.setattr(mover.subprocess, "run", lambda *a, **k: calls.append(a))
    for args in (["-a", "/data//wiki/", "recv-n2:wiki/"], ["-a", "/data/wiki/", "recv-n2:db/"], ["recv-n2:wiki/"]):
        assert mover.rsync_wrapper(list(args)) == mover.REFUSED_CODE
    assert calls == []


def test_the_wrapper_drops_ignore_errors(mover, data, monkeypatch, tmp_path):
    seen = []

    class Done(object):
        returncode = 0
        stdout = b""

    monkeypatch.setattr(mover, "DATA", str(data))
    monkeypatch.setattr(mover.subprocess, "run", lambda cmd, **k: seen.append(cmd) or Done())
    (tmp_path / "state" / "bind").mkdir(parents=True, exist_ok=True)
    rc = mover.rsync_wrapper(["-a", "--delete", "--ignore-errors", "%s/wiki/" % data, "recv-n2:wiki/"])
    assert rc == 0 and seen and "--ignore-errors" not in seen[0] and "--delete" in seen[0]


def test_guard_pass_reports_the_namespace_that_changed(mover, data, monkeypatch, tmp_path):
    monkeypatch.setattr(mover, "DATA", str(data))
    (tmp_path / "state" / "bind").mkdir(parents=True, exist_ok=True)
    states = {"wiki": None}
    seen = {"wiki": mover.namespace_fs("wiki")}
    assert mover.guard_pass(["wiki"], states, seen) is None
    (data / "wiki" / ".swarmdata-id").unlink()
    assert mover.guard_pass(["wiki"], states, seen) == "wiki"
    assert states["wiki"] and "missing" in states["wiki"]


def test_on_demand_passes_retry_only_a_connection_that_failed_and_only_for_a_while(mover, monkeypatch):
    monkeypatch.setattr(mover.time, "sleep", lambda s: None)
    codes = iter([255, 255, 0, 99])
    calls = []
    assert mover.until_connected(lambda tag: calls.append(tag) or next(codes), "x") == 0
    assert calls == ["x", "x", "x"]  # retried the two connection failures, stopped at the first real result
    for code in (12, 23, 1):  # a refusal (fence, guard) or a partial transfer is an answer, not a retry
        calls.clear()
        assert mover.until_connected(lambda c=code: calls.append(c) or c) == code and len(calls) == 1
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(mover.time, "time", lambda: next(clock))
    calls.clear()
    assert mover.until_connected(lambda: calls.append(1) or 255) == 255  # a receiver that stays away: give up
    assert 2 <= len(calls) <= 1 + mover.CONNECT_RETRY_SECONDS / 10


def test_an_empty_filesystem_over_the_path_after_the_check_is_never_the_source(mover, tmp_path, monkeypatch):
    """The race the bind guard test hit under load: the marker checked, then an empty filesystem mounted over the
    namespace's path before rsync listed it. rsync reads the directory that was checked, not the path."""
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    data = tmp_path / "data"
    (data / "wiki").mkdir(parents=True)
    (data / "wiki" / "keep").write_text("the namespace's data")
    dest = tmp_path / "recv-node2:wiki"
    dest.mkdir()
    (dest / "keep").write_text("the namespace's data")
    (dest / "stale").write_text("gone from the source: a correct pass deletes it")
    monkeypatch.setattr(mover, "DATA", str(data))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOVER_REPLICAS", "recv-node2=node2")

    def check_then_swap(ns, **kwargs):
        # What a mount over the path looks like from here: the path now leads to another, empty directory.
        os.rename(str(data / "wiki"), str(data / "wiki.underneath"))
        (data / "wiki").mkdir()
        return None

    monkeypatch.setattr(mover, "check_namespace", check_then_swap)
    monkeypatch.setattr(mover.subprocess, "run", _local_rsync(mover.subprocess.run))
    assert mover.rsync_wrapper(["-a", "--delete", str(data / "wiki") + "/", "recv-node2:wiki/"]) == 0
    assert (dest / "keep").read_text() == "the namespace's data"
    assert not (dest / "stale").exists()


def test_the_marker_is_read_in_the_directory_that_was_opened(mover, tmp_path, monkeypatch):
    """check_namespace with dir_fd: the marker of the opened directory counts, not what the path leads to now."""
    data = tmp_path / "data"
    (data / "wiki").mkdir(parents=True)
    (data / "wiki" / ".swarmdata-id").write_text(ID + "\n")
    monkeypatch.setenv("MOVER_NAMESPACE_IDS", "wiki=" + ID)
    fd = os.open(str(data / "wiki"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rename(str(data / "wiki"), str(data / "wiki.underneath"))
        (data / "wiki").mkdir()  # the path now leads to an empty directory
        assert mover.check_namespace("wiki", data=str(data)) is not None
        assert mover.check_namespace("wiki", data=str(data), dir_fd=fd) is None
    finally:
        os.close(fd)
