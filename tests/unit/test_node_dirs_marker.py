# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_dirs' namespace marker (docs/data-safety.md section 1), run for real against a temporary root:
a marker is written only when asked, never repaired by an ordinary run."""

import grp
import os
import pwd

import pytest
from ansible_collections.swarmdata.replication.plugins.modules import node_dirs

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
ID = "8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11"
OTHER = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "swarmdata"


@pytest.fixture
def dirs(run_module, root):
    def _run(check_mode=False, diff=False, **args):
        params = {"root": str(root), "owner": USER, "group": GROUP, "name": ["wiki"], "marker": ".swarmdata-id",
                  "identity": ID}
        params.update(args)
        return run_module(node_dirs, params, check_mode=check_mode, diff=diff)

    return _run


def marker(root, rel=".swarmdata-id"):
    return root / "namespaces" / "wiki" / rel


def test_first_registration_writes_the_marker_then_nothing_changes(dirs, root):
    run = dirs(marker_write="missing")
    assert run.result["changed"] is True and run.result["markers"] == {"wiki": "ok"}
    assert marker(root).read_text() == ID + "\n"
    again = dirs(marker_write="missing")
    assert again.result["changed"] is False and again.result["markers"] == {"wiki": "ok"}


def test_an_ordinary_run_never_repairs_a_missing_marker(dirs, root):
    dirs(marker_write="missing")
    marker(root).unlink()  # the namespace came back empty
    run = dirs()  # marker_write defaults to never
    assert run.rc == 0
    assert run.result["markers"] == {"wiki": "missing"}
    assert not marker(root).exists()


def test_a_missing_directory_is_created_but_gets_no_marker(dirs, root):
    run = dirs()  # a reinstalled host: the directory is gone, the cluster knows the namespace
    assert run.result["has"] == {"wiki": True}
    assert run.result["markers"] == {"wiki": "missing"}
    assert not marker(root).exists()


def test_a_foreign_marker_is_reported_and_kept(dirs, root):
    dirs(identity=OTHER, marker_write="missing")
    run = dirs()
    assert run.result["markers"] == {"wiki": "mismatch"}
    assert marker(root).read_text() == OTHER + "\n"


def test_missing_refuses_to_overwrite_a_foreign_marker(dirs, root):
    dirs(identity=OTHER, marker_write="missing")
    run = dirs(marker_write="missing")
    assert run.failed and "another identity" in run.result["msg"] and "accept_namespace" in run.result["msg"]
    assert marker(root).read_text() == OTHER + "\n"


def test_always_accepts_a_foreign_or_missing_copy(dirs, root):
    dirs(identity=OTHER, marker_write="missing")
    run = dirs(marker_write="always", diff=True)
    assert run.result["changed"] is True and run.result["markers"] == {"wiki": "ok"}
    assert marker(root).read_text() == ID + "\n"
    path = str(root / "namespaces" / "wiki")
    assert run.result["diff"]["before"][path]["marker"] == "mismatch"
    assert run.result["diff"]["after"][path]["marker"] == "ok"


def test_check_mode_reports_and_writes_nothing(dirs, root):
    run = dirs(marker_write="missing", check_mode=True)
    assert run.result["changed"] is True and run.result["markers"] == {"wiki": "ok"}
    assert not (root / "namespaces" / "wiki").exists()


def test_p2p_marker_inside_syncthings_folder_marker(dirs, root):
    run = dirs(marker=".stfolder/swarmdata-id", marker_write="missing")
    assert run.result["markers"] == {"wiki": "ok"}
    assert marker(root, ".stfolder/swarmdata-id").read_text() == ID + "\n"


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../b", "a//b", "."])
def test_marker_path_must_stay_inside_the_namespace(dirs, bad):
    run = dirs(marker=bad, marker_write="always")
    assert run.failed and "marker must be a relative path" in run.result["msg"]


def test_identity_needs_one_name(dirs):
    run = dirs(name=["wiki", "db"])
    assert run.failed and "exactly one name" in run.result["msg"]


def test_query_returns_what_the_markers_hold_before_the_run(dirs, root):
    dirs(marker_write="missing")
    run = dirs(state="query", identity=None)
    assert run.result["changed"] is False and run.result["found"] == {"wiki": ID}
    marker(root).unlink()
    assert dirs(state="query", identity=None).result["found"] == {"wiki": None}


@pytest.fixture
def prepare(run_module, root):
    """One call for a node: base directories, then namespaces with settings of their own (roles/node_prep)."""

    def _run(check_mode=False, **args):
        params = {"root": str(root), "owner": USER, "group": GROUP, "marker": ".swarmdata-id",
                  "namespaces": [{"name": "wiki", "identity": ID, "marker_write": "missing"},
                                 {"name": "db", "identity": OTHER, "mode": "0750"}]}
        params.update(args)
        return run_module(node_dirs, params, check_mode=check_mode)

    return _run


def test_namespaces_each_get_their_own_mode_identity_and_marker_write(prepare, root):
    base = [{"path": str(root), "owner": USER, "group": GROUP},
            {"path": str(root / "state"), "owner": USER, "group": GROUP, "mode": "0700"}]
    run = prepare(directories=base)
    assert run.rc == 0 and run.result["changed"] is True
    assert oct(os.stat(str(root / "state")).st_mode & 0o777) == "0o700"
    assert oct(os.stat(str(root / "namespaces" / "db")).st_mode & 0o777) == "0o750"
    # wiki may be given its marker (missing), db may not (never, the module's default): db is refused.
    assert marker(root).read_text() == ID + "\n"
    assert not (root / "namespaces" / "db" / ".swarmdata-id").exists()
    assert run.result["markers"] == {"wiki": "ok", "db": "missing"}
    again = prepare(directories=base)
    assert again.result["changed"] is False and again.result["markers"] == {"wiki": "ok", "db": "missing"}


def test_a_foreign_marker_in_one_namespace_fails_the_call(prepare, root):
    prepare()
    (root / "namespaces" / "wiki" / ".swarmdata-id").write_text(OTHER + "\n")
    run = prepare()
    assert run.failed and "another identity" in run.result["msg"] and "wiki" in run.result["msg"]
    assert marker(root).read_text() == OTHER + "\n"


def test_a_base_directory_may_be_a_symlink_to_a_directory_and_missing_parents_are_made(prepare, root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root.mkdir()
    (root / "state").symlink_to(elsewhere)
    deep = tmp_path / "srv" / "data" / "x"
    run = prepare(directories=[{"path": str(root / "state"), "owner": USER, "group": GROUP, "mode": "0700"},
                               {"path": str(deep), "owner": USER, "group": GROUP}])
    assert run.rc == 0 and deep.is_dir() and (root / "state").is_symlink()
    assert oct(os.stat(str(elsewhere)).st_mode & 0o777) == "0o700"


def test_a_namespace_directory_that_is_a_symlink_is_refused(prepare, root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "namespaces").mkdir(parents=True)
    (root / "namespaces" / "wiki").symlink_to(elsewhere)
    run = prepare()
    assert run.failed and "symlink" in run.result["msg"]


def test_a_node_that_holds_no_namespace_gets_its_directories(prepare, root):
    # glusterfs: the namespaces are in the volume, node_prep passes an empty list.
    run = prepare(namespaces=[], directories=[{"path": str(root), "owner": USER, "group": GROUP},
                                              {"path": str(root / "brick"), "owner": USER, "group": GROUP}])
    assert run.rc == 0 and (root / "brick").is_dir()
    assert prepare(namespaces=[], directories=[{"path": str(root), "owner": USER,
                                                "group": GROUP}]).result["changed"] is False


def test_namespaces_and_name_together_are_refused(prepare):
    run = prepare(name=["wiki"])
    assert run.failed and "mutually exclusive" in run.result["msg"]


def test_check_mode_with_namespaces_changes_nothing(prepare, root):
    run = prepare(check_mode=True, directories=[{"path": str(root), "owner": USER, "group": GROUP}])
    assert run.result["changed"] is True and not root.exists()


@pytest.mark.parametrize("rel", [".swarmdata-id", ".stfolder/swarmdata-id"])
def test_empty_writes_the_marker_of_a_copy_that_holds_nothing(dirs, root, rel):
    run = dirs(marker=rel, marker_write="empty", check_mode=True)  # a new node: the directory does not exist yet
    assert run.result["changed"] is True and run.result["markers"] == {"wiki": "ok"}
    assert not (root / "namespaces" / "wiki").exists()
    run = dirs(marker=rel, marker_write="empty")
    assert run.result["changed"] is True and run.result["markers"] == {"wiki": "ok"}
    assert marker(root, rel).read_text() == ID + "\n"
    again = dirs(marker=rel, marker_write="empty")
    assert again.result["changed"] is False and again.result["markers"] == {"wiki": "ok"}


def test_empty_writes_beside_the_markers_own_empty_parent_only(dirs, root):
    (root / "namespaces" / "wiki" / ".stfolder").mkdir(parents=True)
    run = dirs(marker=".stfolder/swarmdata-id", marker_write="empty")
    assert run.result["markers"] == {"wiki": "ok"} and marker(root, ".stfolder/swarmdata-id").exists()


@pytest.mark.parametrize("content", ["file", ".stfolder/other", "dir/"])
def test_empty_leaves_a_copy_that_holds_anything_refused(dirs, root, content):
    """Data without a marker may be an old copy, or a disk's mount point: the marker is not the module's to give."""
    path = root / "namespaces" / "wiki" / content.rstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if content.endswith("/"):
        path.mkdir()
    else:
        path.write_text("data\n")
    run = dirs(marker=".stfolder/swarmdata-id", marker_write="empty")
    assert run.rc == 0 and run.result["changed"] is False
    assert run.result["markers"] == {"wiki": "missing"}
    assert not marker(root, ".stfolder/swarmdata-id").exists()
