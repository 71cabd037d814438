# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/namespace_users.py: what keeps namespace.yml from deleting a namespace, from docker_host_info's
verbose output (shapes as the Docker API returns them)."""

from ansible_collections.swarmdata.replication.plugins.filter.namespace_users import FilterModule, namespace_users

PATH = "/opt/swarmdata/namespaces/old"


def service(name, env=(), mounts=()):
    return {"ID": name, "Spec": {"Name": name, "TaskTemplate": {"ContainerSpec": {"Env": list(env),
                                                                                  "Mounts": list(mounts)}}}}


def test_the_variant_services_that_name_it_and_only_those():
    info = {"services": [
        service("swarmdata_sender", ["MOVER_NAMESPACE_IDS=wiki=1 old=2", "MOVER_NODE=n1"],
                [{"Type": "bind", "Source": "/opt/swarmdata/namespaces"}]),  # the parent: not a use
        service("swarmdata_syncthing", ["ST_NAMESPACE_IDS=old-2=3 bold=4"]),  # other names that contain it
        service("swarmdata_recv", ["MOVER_FENCES={\"old\": 1}"]),
    ]}
    assert namespace_users(info, PATH, "old") == ["service swarmdata_sender (names it)"]


def test_mounts_at_or_under_it_by_service_container_or_volume():
    info = {
        "services": [service("app_db", mounts=[{"Type": "volume", "Source": "app_data", "VolumeOptions": {
            "DriverConfig": {"Name": "local", "Options": {"type": "none", "o": "bind", "device": PATH + "/"}}}}]),
            service("app_web", mounts=[{"Type": "bind", "Source": PATH + "/www"}]),
            service("app_other", mounts=[{"Type": "bind", "Source": PATH + "er"}])],  # /old-er is not /old
        "containers": [{"Id": "c1", "Names": ["/web.1"], "Mounts": [{"Source": PATH}]},
                       {"Id": "c2", "Names": ["/db.1"], "Mounts": [{"Source": "/var/lib/docker/volumes/x/_data"}]}],
        "volumes": [{"Name": "app_data", "Options": {"device": PATH}}, {"Name": "cache", "Options": None}],
    }
    assert namespace_users(info, PATH, "old") == [
        "container web.1", "service app_db (mounts it)", "service app_web (mounts it)", "volume app_data (device)"]


def test_nothing_uses_it():
    assert namespace_users({"services": [], "containers": [], "volumes": []}, PATH, "old") == []
    assert namespace_users({}, PATH + "/", "old") == []
    assert FilterModule().filters()["namespace_users"] is namespace_users
