"""Backups of the p2p variant on the real lab (docs/backup.md): the backup service reads one peer's copy; files
deleted and corrupted are restored on one peer and Syncthing carries them back to every node, identical by
checksum."""

from helpers import RUNNER, assert_backup_and_restore_round_trip

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]  # the test drives the lab itself


def test_a_backup_from_one_peer_restores_deleted_and_corrupted_files_on_every_node():
    hosts = [RUNNER.get_host(name) for name in RUNNER.get_hosts("swarm_*")]
    assert_backup_and_restore_round_trip(hosts, "wiki")
