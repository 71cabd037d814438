"""A fourth node added to the volume's replica set and removed again, and a worker promoted and demoted, on this
scenario's lab: the tests are in molecule/shared/nodes.py, shared with the other variants. The third step there
(the same node back) is not run: its brick left the volume and keeps the volume's attributes (docs/nodes.md).
Runs after test_glusterfs.py (same lab)."""

from nodes import (  # noqa: F401  pylint: disable=unused-import
    lab,
    test_a_fourth_node_added_joins_and_is_filled_and_a_moved_worker_is_promoted,
    test_out_of_the_inventory_it_is_drained_and_keeps_its_data_and_the_worker_is_demoted,
)
