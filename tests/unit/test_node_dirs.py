# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/node_dirs.py, run for real (main()) against a temporary root."""

import grp
import os
import pwd
import stat

import pytest
from ansible_collections.swarmdata.replication.plugins.modules import node_dirs

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def root(tmp_path):
    return tmp_path / "swarmdata"


@pytest.fixture
def dirs(run_module, root):
    """Run node_dirs with the current user/group and ``root``; keyword arguments override."""

    def _run(check_mode=False, diff=False, **args):
        params = {"root": str(root), "owner": USER, "group": GROUP}
        params.update(args)
        return run_module(node_dirs, params, check_mode=check_mode, diff=diff)

    return _run


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_create(dirs, root):
    run = dirs(name=["wiki", "db"], mode="0750")
    assert run.rc == 0
    assert run.result["changed"] is True
    base = root / "namespaces"
    assert run.result["paths"] == {"wiki": str(base / "wiki"), "db": str(base / "db")}
    assert run.result["has"] == {"wiki": True, "db": True}
    assert run.result["namespaces"] == ["db", "wiki"]
    for name in ("wiki", "db"):
        path = base / name
        assert path.is_dir() and not path.is_symlink()
        assert mode_of(path) == 0o750
        assert os.lstat(str(path)).st_uid == os.getuid()
        assert os.lstat(str(path)).st_gid == os.getgid()
    assert "diff" not in run.result


def test_second_run_is_not_changed(dirs, root):
    assert dirs(name=["wiki"], mode="0750").result["changed"] is True
    again = dirs(name=["wiki"], mode="0750")
    assert again.rc == 0
    assert again.result["changed"] is False
    assert again.result["has"] == {"wiki": True}
    assert mode_of(root / "namespaces" / "wiki") == 0o750


def test_names_alias_and_single_string(dirs, root):
    run = dirs(names="wiki")
    assert run.result["changed"] is True
    assert (root / "namespaces" / "wiki").is_dir()


def test_check_mode_creates_nothing(dirs, root):
    run = dirs(name=["wiki"], mode="0750", check_mode=True)
    assert run.rc == 0
    assert run.result["changed"] is True
    assert run.result["has"] == {"wiki": True}
    assert run.result["namespaces"] == ["wiki"]
    assert run.result["paths"] == {"wiki": str(root / "namespaces" / "wiki")}
    assert not root.exists()


def test_check_mode_existing_root_creates_nothing(dirs, root):
    (root / "namespaces" / "old").mkdir(parents=True)
    run = dirs(name=["wiki"], check_mode=True)
    assert run.result["changed"] is True
    assert run.result["namespaces"] == ["old", "wiki"]
    assert sorted(os.listdir(str(root / "namespaces"))) == ["old"]


def test_check_mode_on_existing_is_not_changed(dirs):
    dirs(name=["wiki"], mode="0750")
    run = dirs(name=["wiki"], mode="0750", check_mode=True)
    assert run.result["changed"] is False


def test_check_mode_mode_change_is_reported_not_applied(dirs, root):
    dirs(name=["wiki"], mode="0755")
    run = dirs(name=["wiki"], mode="0700", check_mode=True)
    assert run.result["changed"] is True
    assert mode_of(root / "namespaces" / "wiki") == 0o755


def test_diff_when_asked(dirs, root):
    path = str(root / "namespaces" / "wiki")
    run = dirs(name=["wiki"], mode="0750", diff=True)
    assert run.result["diff"]["before"][path]["state"] == "absent"
    assert run.result["diff"]["after"][path]["state"] == "directory"
    assert run.result["diff"]["after"][path]["mode"] == "0750"
    again = dirs(name=["wiki"], mode="0750", diff=True)
    assert again.result["diff"]["before"][path] == {"state": "directory"}
    assert again.result["diff"]["after"][path] == {"state": "directory"}


def test_diff_in_check_mode_reports_wanted_attributes(dirs, root):
    path = str(root / "namespaces" / "wiki")
    run = dirs(name=["wiki"], mode="0750", check_mode=True, diff=True)
    assert run.result["diff"]["before"][path] == {"state": "absent"}
    assert run.result["diff"]["after"][path] == {"state": "directory", "owner": USER, "group": GROUP, "mode": "0750"}


def test_mode_change_is_changed(dirs, root):
    dirs(name=["wiki"], mode="0755")
    run = dirs(name=["wiki"], mode="0700", diff=True)
    assert run.result["changed"] is True
    assert mode_of(root / "namespaces" / "wiki") == 0o700
    path = str(root / "namespaces" / "wiki")
    assert run.result["diff"]["before"][path]["mode"] == "0755"
    assert run.result["diff"]["after"][path]["mode"] == "0700"


def test_absent_removes_empty_namespace(dirs, root):
    dirs(name=["wiki", "db"])
    run = dirs(name=["wiki"], state="absent")
    assert run.rc == 0
    assert run.result["changed"] is True
    assert run.result["has"] == {"wiki": False}
    assert run.result["namespaces"] == ["db"]
    assert not (root / "namespaces" / "wiki").exists()
    assert (root / "namespaces" / "db").is_dir()


def test_absent_of_missing_namespace_is_not_changed(dirs, root):
    (root / "namespaces").mkdir(parents=True)
    run = dirs(name=["wiki"], state="absent")
    assert run.rc == 0
    assert run.result["changed"] is False
    assert run.result["has"] == {"wiki": False}


def test_absent_check_mode_keeps_directory(dirs, root):
    dirs(name=["wiki"])
    run = dirs(name=["wiki"], state="absent", check_mode=True)
    assert run.result["changed"] is True
    assert run.result["has"] == {"wiki": False}
    assert run.result["namespaces"] == []
    assert (root / "namespaces" / "wiki").is_dir()


def test_absent_refuses_non_empty_without_force(dirs, root):
    dirs(name=["wiki"])
    data = root / "namespaces" / "wiki" / "page.txt"
    data.write_text("keep me")
    run = dirs(name=["wiki"], state="absent")
    assert run.rc == 1
    assert "not empty" in run.result["msg"]
    assert "force" in run.result["msg"]
    assert "nothing was deleted" in run.result["msg"]
    assert run.result["has"] == {"wiki": True}
    assert data.read_text() == "keep me"


def test_absent_refuses_non_empty_in_check_mode_too(dirs, root):
    dirs(name=["wiki"])
    (root / "namespaces" / "wiki" / "page.txt").write_text("x")
    run = dirs(name=["wiki"], state="absent", check_mode=True)
    assert run.rc == 1
    assert "not empty" in run.result["msg"]


def test_absent_with_force_deletes_data(dirs, root):
    dirs(name=["wiki"])
    sub = root / "namespaces" / "wiki" / "sub"
    sub.mkdir()
    (sub / "page.txt").write_text("bye")
    run = dirs(name=["wiki"], state="absent", force=True, diff=True)
    assert run.rc == 0
    assert run.result["changed"] is True
    assert not (root / "namespaces" / "wiki").exists()
    path = str(root / "namespaces" / "wiki")
    assert run.result["diff"]["before"][path] == {"state": "directory", "entries": 1}
    assert run.result["diff"]["after"][path] == {"state": "absent"}


def test_absent_refusal_deletes_nothing_at_all(dirs, root):
    dirs(name=["empty", "full"])
    (root / "namespaces" / "full" / "data").write_text("x")
    run = dirs(name=["empty", "full"], state="absent")
    assert run.rc == 1
    assert "nothing was deleted" in run.result["msg"]
    assert (root / "namespaces" / "empty").is_dir()


def test_query(dirs, root):
    dirs(name=["wiki", "db"])
    (root / "namespaces" / "stray-file").write_text("not a namespace")
    run = dirs(name=["wiki", "missing"], state="query")
    assert run.rc == 0
    assert run.result["changed"] is False
    assert run.result["paths"] == {"wiki": str(root / "namespaces" / "wiki"),
                                   "missing": str(root / "namespaces" / "missing")}
    assert run.result["has"] == {"wiki": True, "missing": False}
    assert run.result["namespaces"] == ["db", "wiki"]
    assert not (root / "namespaces" / "missing").exists()


def test_query_without_names_lists(dirs):
    dirs(name=["b", "a"])
    run = dirs(state="query")
    assert run.result == {"changed": False, "paths": {}, "has": {}, "namespaces": ["a", "b"],
                          "invocation": run.result["invocation"]}


def test_query_of_missing_root_creates_nothing(dirs, root):
    run = dirs(name=["wiki"], state="query")
    assert run.result["has"] == {"wiki": False}
    assert run.result["namespaces"] == []
    assert not root.exists()


@pytest.mark.parametrize("state", ["present", "absent"])
def test_name_required_unless_query(dirs, root, state):
    run = dirs(state=state)
    assert run.rc == 1
    assert run.result["msg"] == f"name is required when state is {state}"
    assert not root.exists()


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "Abc", "-x", "", "a" * 64])
def test_bad_name_fails_naming_name(dirs, root, bad):
    run = dirs(name=["wiki", bad])
    assert run.rc == 1
    assert run.result["msg"].startswith("name: ")
    assert repr(bad) in run.result["msg"] or "empty" in run.result["msg"]
    # Validation happens before anything is touched, including the good name.
    assert not root.exists()


@pytest.mark.parametrize("bad_root, reason", [
    ("relative/root", "root must be an absolute path"),
    ("/", "root must not be '/'"),
    ("/tmp/../etc", "root must not contain '..'"),
])
def test_bad_root_fails_naming_root(run_module, bad_root, reason):
    run = run_module(node_dirs, {"root": bad_root, "name": ["wiki"], "owner": USER, "group": GROUP})
    assert run.rc == 1
    assert run.result["msg"].startswith(reason)


def test_symlink_in_place_of_namespace_is_refused(dirs, root, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    os.chmod(str(target), 0o755)
    (target / "precious").write_text("x")
    (root / "namespaces").mkdir(parents=True)
    link = root / "namespaces" / "wiki"
    link.symlink_to(target, target_is_directory=True)

    run = dirs(name=["wiki"], mode="0700")
    assert run.rc == 1
    assert "is a symlink" in run.result["msg"]
    assert str(link) in run.result["msg"]
    assert mode_of(target) == 0o755

    run = dirs(name=["wiki"], state="absent", force=True)
    assert run.rc == 1
    assert "is a symlink" in run.result["msg"]
    assert (target / "precious").exists()
    assert link.is_symlink()

    run = dirs(name=["wiki"], state="query")
    assert run.result["has"] == {"wiki": False}
    assert run.result["namespaces"] == []


def test_symlinked_root_is_refused(dirs, root, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    root.symlink_to(real, target_is_directory=True)
    run = dirs(name=["wiki"])
    assert run.rc == 1
    assert "is a symlink" in run.result["msg"]
    assert os.listdir(str(real)) == []


def test_file_in_place_of_namespace_is_refused(dirs, root):
    (root / "namespaces").mkdir(parents=True)
    (root / "namespaces" / "wiki").write_text("x")
    run = dirs(name=["wiki"])
    assert run.rc == 1
    assert "exists and is not a directory" in run.result["msg"]
    assert (root / "namespaces" / "wiki").read_text() == "x"


def test_unknown_owner_fails(dirs, root):
    run = dirs(name=["wiki"], owner="no-such-user-swarmdata-test")
    assert run.rc == 1
    assert "no-such-user-swarmdata-test" in run.result["msg"]
