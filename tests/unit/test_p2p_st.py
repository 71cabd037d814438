# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The p2p container's own logic (roles/p2p/files/syncthing/st.py), without Syncthing: the namespace guard
(marker checks, what it does on a change, the paused folders it renders, its metrics) and the config it writes."""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ST = Path(__file__).resolve().parents[2] / "roles" / "p2p" / "files" / "syncthing" / "st.py"
UUID = "0b5c6f0e-8f1c-4a57-9d6e-3b1f2a7c9e10"
OTHER = "6a1d2c3b-0000-4000-8000-000000000000"

TEMPLATE = """<configuration version="36">
    <folder id="wiki" label="wiki" path="%(root)s/wiki" type="sendreceive">
        <markerName>.stfolder/swarmdata-id</markerName>
    </folder>
    <folder id="db" label="db" path="%(root)s/db" type="sendreceive">
        <markerName>.stfolder/swarmdata-id</markerName>
    </folder>
    <gui enabled="true" tls="false"><address>/run/syncthing/gui.sock</address><apikey>__APIKEY__</apikey></gui>
</configuration>
"""


@pytest.fixture
def st(load_source):
    return load_source("st_under_test", ST)


def marker(root, ns, content):
    os.makedirs(os.path.join(root, ns, ".stfolder"), exist_ok=True)
    Path(root, ns, ".stfolder", "swarmdata-id").write_text(content)


def test_folders_and_their_markers_come_from_the_config(st, tmp_path):
    folders = st.folders_of(TEMPLATE % {"root": tmp_path})
    assert folders == [("wiki", "%s/wiki" % tmp_path, "%s/wiki/.stfolder/swarmdata-id" % tmp_path),
                       ("db", "%s/db" % tmp_path, "%s/db/.stfolder/swarmdata-id" % tmp_path)]


def test_marker_states(st, tmp_path):
    path, mark = str(tmp_path / "wiki"), str(tmp_path / "wiki" / ".stfolder" / "swarmdata-id")
    state, reason = st.check_marker(path, mark, UUID)
    assert state == st.MISSING and "directory" in reason and path in reason
    os.makedirs(path)  # an empty directory: what an unmounted disk leaves
    state, reason = st.check_marker(path, mark, UUID)
    assert state == st.MISSING and "marker %s is missing" % mark in reason
    marker(str(tmp_path), "wiki", UUID + "\n")
    assert st.check_marker(path, mark, UUID) == (st.OK, None)
    marker(str(tmp_path), "wiki", OTHER + "\n")
    state, reason = st.check_marker(path, mark, UUID)
    assert state == st.MISMATCH and OTHER in reason and UUID in reason
    state, reason = st.check_marker(path, mark, "")
    assert state == st.UNKNOWN and "site.yml" in reason


def test_the_guard_never_creates_a_marker(st, tmp_path):
    os.makedirs(tmp_path / "wiki")
    st.check_all(st.folders_of(TEMPLATE % {"root": tmp_path}), {"wiki": UUID, "db": UUID})
    assert os.listdir(tmp_path / "wiki") == [] and not (tmp_path / "db").exists()


def test_render_config_fills_the_key_and_pauses_foreign_or_unknown_folders(st, tmp_path):
    states = {"wiki": (st.MISMATCH, "x"), "db": (st.MISSING, "y")}
    config = st.render_config(TEMPLATE % {"root": tmp_path}, "secret-key", states)
    root = ET.fromstring(config)
    assert root.find("gui/apikey").text == "secret-key" and "__APIKEY__" not in config
    paused = dict((f.get("id"), f.findtext("paused")) for f in root.iter("folder"))
    # missing: stopped by Syncthing's own marker check; foreign: the marker exists, so only a pause stops it
    assert paused == {"wiki": "true", "db": "false"}
    config = st.render_config(TEMPLATE % {"root": tmp_path}, "k", {"wiki": (st.UNKNOWN, "z"), "db": (st.OK, None)})
    assert dict((f.get("id"), f.findtext("paused")) for f in ET.fromstring(config).iter("folder")) == {
        "wiki": "true", "db": "false"}


@pytest.mark.parametrize("old, new, expected", [
    ("ok", "ok", []),
    ("ok", "missing", ["scan"]),        # Syncthing shows its own "folder marker missing" at once
    ("missing", "ok", ["scan"]),        # the data is back: resume now, not at the hourly rescan
    ("ok", "mismatch", ["pause"]),
    ("missing", "mismatch", ["pause"]),
    ("mismatch", "ok", ["unpause"]),
    ("mismatch", "missing", ["unpause", "scan"]),  # Syncthing's own guard takes over
    ("unknown", "unknown", []),
])
def test_actions_on_a_change(st, old, new, expected):
    assert [a[1] for a in st.actions({"wiki": (old, None)}, {"wiki": (new, None)})] == expected


def test_metrics_name_every_namespace_and_the_node(st, tmp_path, monkeypatch):
    path = tmp_path / "metrics.prom"
    monkeypatch.setenv("ST_METRICS", str(path))
    st.write_metrics({"wiki": (st.OK, None), "db": (st.MISSING, "gone")}, "node2")
    text = path.read_text()
    assert 'swarmdata_namespace_refused{namespace="db",node="node2"} 1' in text
    assert 'swarmdata_namespace_refused{namespace="wiki",node="node2"} 0' in text
    assert "# TYPE swarmdata_namespace_refused gauge" in text
    assert oct(path.stat().st_mode & 0o777) == "0o644" and os.listdir(tmp_path) == ["metrics.prom"]  # renamed


def test_refusal_message_names_namespace_node_and_what_to_check(st):
    msg = st.refusal_message("wiki", "node2", "/opt/swarmdata/namespaces/wiki", "its marker is missing")
    assert msg.startswith("REFUSED namespace wiki on node2: its marker is missing.")
    assert "mounted at /opt/swarmdata/namespaces/wiki on node2" in msg
    assert "-e namespace=wiki -e host=node2 -e confirm=wiki" in msg


def test_pairs_and_node_name(st, monkeypatch):
    monkeypatch.setenv("ST_NAMESPACE_IDS", "wiki=%s db= media=%s" % (UUID, OTHER))
    assert st.pairs("ST_NAMESPACE_IDS") == {"wiki": UUID, "db": "", "media": OTHER}
    monkeypatch.setenv("ST_NODE_ID", "abc")
    monkeypatch.setenv("ST_NODE_NAMES", "xyz=node1 abc=node2")
    assert st.node_name() == "node2"
