# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The p2p variant's part of the plan: every host an equal Syncthing peer.

Private to the swarmdata.replication collection: no compatibility promise. Same functions as _plan_bind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.swarmdata.replication.plugins.module_utils._inputs import (
    TopologyError,
    secret_name,
)

# Inside Syncthing's own folder marker, which Syncthing never syncs, so every node keeps its own.
MARKER = ".stfolder/swarmdata-id"
HAS_PRIMARY = False


def check_addresses(ctx, variant):
    """Peers dial each other's address: each host needs its own, IPv4 or a DNS name (address:path, tcp://a:p)."""
    addresses = ctx["addresses"]
    for host in ctx["hosts"]:
        if ":" in addresses[host]:
            raise TopologyError("the address of host %r (glusterfs_address / ansible_host) is the IPv6 address %r; "
                                "variant %r needs an IPv4 address or a DNS name" % (host, addresses[host], variant))
    same = sorted(h for h in ctx["hosts"] if list(addresses.values()).count(addresses[h]) > 1)
    if same:
        raise TopologyError("hosts %s have the same address (glusterfs_address / ansible_host); each host needs its "
                            "own" % ", ".join(same))


def check(ctx):
    check_addresses(ctx, "p2p")
    return None


def node_role(host, ctx):
    return "peer"


def peers(host, ctx):
    return [h for h in ctx["hosts"] if h != host]


def receiver(host, ctx):
    return None


def secrets(ctx):
    # Every node's Syncthing identity (certificate and key) and the REST API key, as Swarm secrets.
    return {
        "ssh_keys": [],
        "syncthing_identities": [{"name": secret_name(ctx["label_prefix"], "syncthing", h), "host": h}
                                 for h in ctx["hosts"]],
        "syncthing_api_key": secret_name(ctx["label_prefix"], "syncthing", "apikey"),
    }


def node_labels(host, ctx):
    """No per-namespace labels: every node holds every namespace alike."""
    return {}


def extra_dirs(root):
    return [{"path": posixpath.join(root, "state", "syncthing"), "owner": "root", "group": "root", "mode": "0700"}]


def holds_namespaces():
    return True


def section(ctx):
    state = posixpath.join(ctx["root"], "state", "p2p")
    return {"services": {"syncthing": "syncthing"}, "state_dir": state,
            "metrics": posixpath.join(state, "metrics.prom")}
