# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/compose_volume.py: the compose fragment of a namespace, from real plans of each variant; its
placement constraint selects exactly the nodes where the namespace may be written."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.swarmdata.replication.plugins.filter.compose_volume import FilterModule, compose_volume
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import build_plan
from test_topology import constraint_holds, groups

ADDRESSES = {"node1": "10.0.0.1", "node2": "10.0.0.2", "node3": "10.0.0.3"}


def plan(variant, **extra):
    wiki = {"name": "wiki", "primary": "node2"} if variant == "bind" else "wiki"
    kwargs = {"groups": groups(), "variant": variant, "namespaces": [wiki, "db"],
              "primary": "node1" if variant == "bind" else None}
    if variant != "bind":
        kwargs["addresses"] = dict(ADDRESSES)
    kwargs.update(extra)
    return build_plan(**kwargs)


def placed_on(p, fragment):
    constraints = fragment["service"]["deploy"]["placement"]["constraints"]
    return sorted(h for h, node in p["nodes"].items() if all(constraint_holds(c, node["labels"]) for c in constraints))


def test_bind_places_the_service_on_the_namespaces_own_primary():
    p = plan("bind")
    wiki, db = compose_volume(p, "wiki"), compose_volume(p, "db")
    assert placed_on(p, wiki) == ["node2"] and placed_on(p, db) == ["node1"]
    assert wiki["service"]["volumes"] == [{"type": "bind", "source": "/opt/swarmdata/namespaces/wiki",
                                           "target": "/data", "bind": {"propagation": "rslave"}}]
    assert wiki["volumes"] == {}


@pytest.mark.parametrize("variant", ["glusterfs", "p2p"])
def test_glusterfs_and_p2p_place_it_on_any_member(variant):
    p = plan(variant)
    assert placed_on(p, compose_volume(p, "wiki")) == ["node1", "node2", "node3"]


def test_the_named_volume_layout_is_seed_000s_local_driver_bind():
    p = plan("bind")
    out = compose_volume(p, "db", layout="volume", target="/var/lib/postgresql/data", read_only=True)
    assert out["volumes"] == {"swarmdata-db": {"driver": "local", "driver_opts": {
        "type": "none", "o": "bind", "device": "/opt/swarmdata/namespaces/db"}}}
    assert out["service"]["volumes"] == [{"type": "volume", "source": "swarmdata-db",
                                          "target": "/var/lib/postgresql/data", "read_only": True}]
    assert list(compose_volume(p, "db", layout="volume", name="pgdata")["volumes"]) == ["pgdata"]


@pytest.mark.parametrize("args, message", [
    (("nope",), "namespace 'nope' is not in replication_namespaces (known: wiki, db)"),
    (("wiki", "nfs"), "layout must be bind or volume"),
    (("wiki", "bind", "data"), "target must be an absolute path"),
])
def test_bad_arguments_are_named(args, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compose_volume(plan("bind"), *args)


def test_the_input_must_be_a_plan():
    with pytest.raises(AnsibleFilterError, match="not a plan"):
        compose_volume({"variant": "bind"}, "wiki")
    assert FilterModule().filters()["compose_volume"] is compose_volume
