# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/p2p_rows.py."""

import json

from ansible_collections.swarmdata.replication.plugins.filter.p2p_rows import p2p_rows

STATUS = {"device_id": "X", "name": "n1",
          "peers": {"n2": {"connected": True}, "n3": {"connected": False}},
          "folders": [
              {"folder": "wiki", "in_sync": True, "state": "idle", "need_files": 0, "need_bytes": 0,
               "conflicts": ["a.sync-conflict-1.txt"],
               "last_change": {"at": "2026-11-22T02:01:22.123+00:00", "file": "a.txt", "deleted": False}},
              {"folder": "db", "in_sync": False, "state": "syncing", "need_files": 3, "need_bytes": 4096,
               "conflicts": [], "last_change": {"at": "0001-01-01T00:00:00Z", "file": "", "deleted": False}}]}


def test_one_row_per_folder():
    rows = p2p_rows("n1", {"n1": {"status_st": {"stdout": json.dumps(STATUS)}}})
    assert len(rows) == 2
    wiki, db = rows
    assert wiki.split()[:7] == ["n1", "wiki", "yes", "0", "0", "1", "2026-11-22"]
    assert "02:01:22 a.txt" in wiki and wiki.endswith("1/2")
    assert db.split()[:8] == ["n1", "db", "NO", "(syncing)", "3", "4096", "0", "-"]


def test_a_host_without_status_says_so():
    rows = p2p_rows("n2", {"n2": {"status_st": {"skipped": True}}})
    assert rows == ["%-20s %s" % ("n2", "status unavailable: no Syncthing container running")]
    rows = p2p_rows("n3", {"n3": {"status_st": {"stdout": "", "stderr": "Error: No such container"}}})
    assert "status unavailable: Error: No such container" in rows[0]


def test_a_refused_namespace_is_named_with_the_node_and_what_to_check():
    status = dict(STATUS, folders=[dict(STATUS["folders"][0], in_sync=False, state="error",
                                        path="/opt/swarmdata/namespaces/wiki",
                                        refused="its marker /opt/swarmdata/namespaces/wiki/.stfolder/swarmdata-id "
                                                "is missing (No such file or directory)")])
    rows = p2p_rows("n1", {"n1": {"status_st": {"stdout": json.dumps(status)}}})
    assert len(rows) == 2
    assert rows[0].split()[:3] == ["n1", "wiki", "REFUSED"]
    assert rows[1].startswith("REFUSED namespace wiki on n1: its marker ")
    assert "mounted at /opt/swarmdata/namespaces/wiki" in rows[1]
    assert "accept_namespace.yml -e namespace=wiki -e host=n1 -e confirm=wiki" in rows[1]
