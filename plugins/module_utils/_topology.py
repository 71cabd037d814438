# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory -> per-node replication plan.

Private to the swarmdata.replication collection: no compatibility promise.

One pure function, :func:`build_plan`, turns the inventory contract into the
plan every role reads (node roles, node labels, placement constraints,
directories, peers, secret names). Labels and constraints both come from here,
so a label that no constraint matches (a ``rsync.master=true`` label against
``node.labels.rsync.role == master``) cannot be written.

Common validation lives in ``_inputs``; what differs per variant (roles, peers, secrets, its own section of
the plan) in one small module per variant, ``_plan_<variant>`` (docs/architecture.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

# Re-exported: modules, the lookup and the tests import them from here.
# pylint: disable=unused-import
from ansible_collections.swarmdata.replication.plugins.module_utils._inputs import (  # noqa: F401
    ADDRESS_VARS,
    CRITICALITIES,
    DEFAULT_LABEL_PREFIX,
    DEFAULT_MANAGERS_GROUP,
    DEFAULT_ROOT,
    DEFAULT_WORKERS_GROUP,
    LABEL_PREFIX_RE,
    NAMESPACE_MAX_LEN,
    SECRET_NAME_RE,
    TopologyError,
    host_slug,
    hosts_of,
    namespace_config_name,
    normalize_namespace,
    secret_name,
    validate_advertise_addr,
    validate_host_name,
    validate_host_vars,
    validate_namespace_name,
    validate_root,
)
# pylint: enable=unused-import
from ansible_collections.swarmdata.replication.plugins.module_utils import (
    _backup,
    _plan_bind,
    _plan_glusterfs,
    _plan_p2p,
)

VARIANT_MODULES = {"bind": _plan_bind, "glusterfs": _plan_glusterfs, "p2p": _plan_p2p}
VARIANTS = tuple(sorted(VARIANT_MODULES))
# Variants where one node is the source of truth and the others follow it.
VARIANTS_WITH_PRIMARY = tuple(v for v in VARIANTS if VARIANT_MODULES[v].HAS_PRIMARY)
# The marker file inside a namespace that holds its identity, per variant (docs/data-safety.md).
MARKERS = dict((v, m.MARKER) for v, m in VARIANT_MODULES.items())


def _check_prefix(label_prefix):
    if not isinstance(label_prefix, str) or not LABEL_PREFIX_RE.fullmatch(label_prefix):
        raise TopologyError(
            "replication_label_prefix must be lowercase dot/dash-separated words like 'swarmdata', got %r"
            % (label_prefix,)
        )
    if label_prefix.startswith(("com.docker", "io.docker", "org.dockerproject")):
        raise TopologyError("replication_label_prefix %r is reserved by Docker" % label_prefix)


def _hosts(groups, managers_group, workers_group):
    managers = hosts_of(groups, managers_group, "swarm_managers_group")
    workers = hosts_of(groups, workers_group, "swarm_workers_group")
    if not managers:
        raise TopologyError(
            "inventory group %r is empty or missing: a swarm needs at least one manager" % managers_group
        )
    both = sorted(set(managers) & set(workers))
    if both:
        raise TopologyError(
            "host(s) %s are in both %r and %r; put each host in one group"
            % (", ".join(both), managers_group, workers_group)
        )
    hosts = managers + [h for h in workers if h not in managers]
    dup_hosts = sorted({h for h in hosts if hosts.count(h) > 1})
    if dup_hosts:
        raise TopologyError("host(s) %s listed twice in %r/%r" % (", ".join(dup_hosts), managers_group, workers_group))
    for host in hosts:
        validate_host_name(host, "inventory hostname %r (in %r/%r)" % (host, managers_group, workers_group))
    slugs = [host_slug(h) for h in hosts]
    clashes = sorted(h for i, h in enumerate(hosts) if slugs.count(slugs[i]) > 1)
    if clashes:
        raise TopologyError("inventory hostnames %s differ only in case or punctuation; they would share "
                            "service names" % ", ".join(clashes))
    return managers, hosts


def _namespaces(namespaces, root, variant, label_prefix, backup_policy=None):
    if namespaces is None:
        namespaces = []
    if not isinstance(namespaces, (list, tuple)):
        raise TopologyError("replication_namespaces must be a list, got %s" % type(namespaces).__name__)
    normalized = [normalize_namespace(item, i, root) for i, item in enumerate(namespaces)]
    backup_levels = _backup.levels(backup_policy)
    seen = set()
    for i, ns in enumerate(normalized):
        ns["backup"] = _backup.namespace_policy(ns, backup_levels, "replication_namespaces[%d]" % i)
        ns["hooks"] = _backup.namespace_hooks(ns, "replication_namespaces[%d]" % i, variant)
        ns["marker"] = posixpath.join(ns["path"], MARKERS[variant])
        ns["identity_config"] = namespace_config_name(label_prefix, ns["name"])
        for key in ("primary", "snapshots"):
            if key in ns and variant != "bind":
                raise TopologyError("replication_namespaces: namespace %r sets %r, which applies to variant 'bind' "
                                    "only, not %r" % (ns["name"], key, variant))
        if ns["name"] in seen:
            raise TopologyError("replication_namespaces: namespace %r is listed more than once" % ns["name"])
        seen.add(ns["name"])
    return normalized


def build_plan(
    groups,
    variant,
    namespaces,
    primary=None,
    root=DEFAULT_ROOT,
    label_prefix=DEFAULT_LABEL_PREFIX,
    managers_group=DEFAULT_MANAGERS_GROUP,
    workers_group=DEFAULT_WORKERS_GROUP,
    replica_count=None,
    addresses=None,
    backup_policy=None,
    backup_host=None,
    backup_offsite_host=None,
    backup_textfile_dir=_backup.DEFAULT_TEXTFILE_DIR,
):
    """Validate the inventory contract and return the replication plan.

    :param groups: mapping of inventory group name -> list of inventory hostnames
    :param addresses: inventory hostname -> the address its peers reach it by (default: the hostname)
    :param backup_policy: ``replication_backup_policy``, per criticality, over the defaults (module_utils._backup)
    :param backup_host: ``replication_backup_host``, the host that keeps the backup repositories (none: no backups)
    :param backup_offsite_host: ``replication_backup_offsite_host``, an inventory host outside the swarm that keeps an
        append-only copy of them (none: no off-site copy)
    :param backup_textfile_dir: ``replication_backup_textfile_dir``, node_exporter's textfile collector directory on
        every node, where the backup services also write their metrics (empty: nowhere but the state directory)
    :raises TopologyError: on any bad input, naming the variable to change
    """
    # Variant first: everything else depends on it.
    if variant not in VARIANT_MODULES:
        raise TopologyError(
            "replication_variant must be one of %s, got %r" % (", ".join(VARIANTS), variant)
        )
    impl = VARIANT_MODULES[variant]
    root = validate_root(root)
    _check_prefix(label_prefix)
    managers, hosts = _hosts(groups, managers_group, workers_group)
    normalized = _namespaces(namespaces, root, variant, label_prefix, backup_policy)

    addresses = dict((h, (addresses or {}).get(h) or h) for h in hosts)
    ctx = {"hosts": hosts, "managers": managers, "primary": primary, "root": root, "label_prefix": label_prefix,
           "addresses": addresses, "namespaces": normalized, "replica_count": replica_count,
           "group_names": (managers_group, workers_group)}
    if impl.HAS_PRIMARY:
        ctx["primary"] = primary = impl.check(ctx)
    else:
        ctx["primary"] = primary = None
    for host in hosts:
        validate_host_name(addresses[host], "the address of host %r (glusterfs_address / ansible_host)" % (host,))
    if not impl.HAS_PRIMARY:
        impl.check(ctx)
    if variant != "glusterfs" and replica_count not in (None, ""):
        raise TopologyError("replication_replica_count applies to variant 'glusterfs' only, not %r" % variant)

    def label(key):
        return "%s.%s" % (label_prefix, key)

    role_label = label("role")
    constraints = {
        "primary": ["node.labels.%s == primary" % role_label],
        "replica": ["node.labels.%s == replica" % role_label],
        "peer": ["node.labels.%s == peer" % role_label],
        "member": ["node.labels.%s == true" % label("member")],
    }
    base_dirs = [
        {"path": root, "owner": "root", "group": "root", "mode": "0755"},
        {"path": posixpath.join(root, "namespaces"), "owner": "root", "group": "root", "mode": "0755"},
        {"path": posixpath.join(root, "state"), "owner": "root", "group": "root", "mode": "0700"},
    ] + impl.extra_dirs(root)

    nodes = {}
    for host in hosts:
        role = impl.node_role(host, ctx)
        nodes[host] = {
            "name": host,
            "slug": host_slug(host),
            # The bind receiver's Swarm service (and DNS) name on a replica, else null.
            "receiver": impl.receiver(host, ctx),
            "role": role,
            # Pins a per-node service (e.g. a replica's receiver) to exactly this node.
            "constraints": ["node.labels.%s == %s" % (label("host"), host)] + constraints[role],
            "swarm_role": "manager" if host in managers else "worker",
            "address": addresses[host],
            "labels": dict({
                role_label: role,
                label("member"): "true",
                label("variant"): variant,
                label("host"): host,
            }, **impl.node_labels(host, ctx)),
            "peers": impl.peers(host, ctx),
            "directories": list(base_dirs),
            "namespace_dirs": [ns["path"] for ns in normalized] if impl.holds_namespaces() else [],
        }

    section = impl.section(ctx)
    inventory_hosts = set(h for members in (groups or {}).values() for h in members)
    backup = _backup.section(ctx, variant, backup_host, section if variant == "bind" else None,
                             offsite_host=backup_offsite_host, all_hosts=inventory_hosts,
                             textfile_dir=backup_textfile_dir)
    if backup:
        # The runner's state and metrics on every node a backup service may run on; the repositories on one.
        for node in nodes.values():
            node["directories"].append({"path": backup["state_dir"], "owner": "root", "group": "root", "mode": "0700"})
            if backup["textfile_dir"]:
                # As Debian's prometheus-node-exporter package makes it: its collector reads, root writes.
                node["directories"].append(
                    {"path": backup["textfile_dir"], "owner": "root", "group": "root", "mode": "0755"})
        nodes[backup["host"]]["directories"].append(
            {"path": backup["dir"], "owner": "root", "group": "root", "mode": "0700"})
    return {
        "variant": variant,
        "root": root,
        "label_prefix": label_prefix,
        "primary": primary,
        "replicas": [h for h in hosts if nodes[h]["role"] == "replica"],
        "hosts": hosts,
        "managers": managers,
        "workers": [h for h in hosts if h not in managers],
        "first_manager": managers[0],
        "namespaces": normalized,
        # Where, inside each namespace, the marker holding its identity is (docs/data-safety.md).
        "marker": MARKERS[variant],
        "constraints": constraints,
        "secrets": impl.secrets(ctx),
        "gluster": section if variant == "glusterfs" else None,
        # Backups (docs/backup.md): the repository host and each namespace's backup service; null without
        # replication_backup_host.
        "backup": backup,
        # The variant's own section: service names inside the stack, state paths (bind, p2p), or the layout.
        variant: section,
        "nodes": nodes,
    }
