"""Backups of the glusterfs variant on the real lab (docs/backup.md): the backup service reads some member's mount of
the volume; files deleted and corrupted are restored through a mount, identical by checksum on every node."""

from helpers import RUNNER, assert_backup_and_restore_round_trip

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]  # the test drives the lab itself


def test_a_backup_from_a_members_mount_restores_deleted_and_corrupted_files_on_every_node():
    hosts = [RUNNER.get_host(name) for name in RUNNER.get_hosts("swarm_*")]
    assert_backup_and_restore_round_trip(hosts, "wiki")
