"""The status table's row filter."""

from ansible_collections.swarmdata.replication.plugins.filter.status_row import FilterModule, status_row


def test_row_shows_time_lag_duration_bytes_errors_exit():
    row = status_row({"replica": "n2", "namespace": "wiki", "last_success": 1700000000.5,
                      "last_duration_seconds": 0.25, "bytes_sent_total": 1234, "errors_total": 2,
                      "last_exit_code": 0}, 1700000010)
    assert row.split() == ["n2", "wiki", "2023-11-14", "22:13:20", "10", "0.250s", "1234", "2", "0"]


def test_row_for_a_pair_never_synced():
    row = status_row({"replica": "n3", "namespace": "db", "last_success": None, "errors_total": 5,
                      "last_exit_code": 255}, 1700000010)
    assert row.split() == ["n3", "db", "never", "-", "-", "0", "5", "255"]


def test_filter_is_registered():
    assert FilterModule().filters()["status_row"] is status_row
