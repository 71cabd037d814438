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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import posixpath
import re

VARIANTS = ("bind", "glusterfs", "p2p")
# Variants where one node is the source of truth and the others follow it.
VARIANTS_WITH_PRIMARY = ("bind",)
CRITICALITIES = ("critical", "high", "medium", "low")
NAMESPACE_KEYS = ("name", "criticality", "owner", "group", "mode")
NAMESPACE_MAX_LEN = 63
# Always used with fullmatch: '$' would also match before a trailing newline.
NAMESPACE_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
LABEL_PREFIX_RE = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
MODE_RE = re.compile(r"0?[0-7]{3}")
OWNER_RE = re.compile(r"(?:[a-z_][a-z0-9_-]{0,31}|[0-9]+)")
SECRET_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]")
SLUG_RE = re.compile(r"[^a-z0-9-]+")
# replication_root reaches shell commands, Docker bind mounts ("source:target"), fstab and config files:
# no spaces, quotes, '$', backticks, newlines, ':' or ','.
SAFE_PATH_RE = re.compile(r"[A-Za-z0-9._/-]+")
# One label of a host name: letters, digits, '-' (not first or last) and '_' (as in Docker container names).
HOST_LABEL_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
HOST_NAME_MAX_LEN = 253
# Host variables the lookup reads addresses from, in the order it prefers them.
ADDRESS_VARS = ("glusterfs_address", "ansible_host")

DEFAULT_ROOT = "/opt/swarmdata"
DEFAULT_LABEL_PREFIX = "swarmdata"
DEFAULT_MANAGERS_GROUP = "swarm_managers"
DEFAULT_WORKERS_GROUP = "swarm_workers"


class TopologyError(ValueError):
    """Bad input. The message names the inventory variable to change."""


def validate_namespace_name(name, variable="replication_namespaces"):
    """Return ``name`` if it is a usable namespace name, raise TopologyError otherwise.

    A namespace becomes a directory name, a Swarm secret/label fragment and a
    service-name fragment, so it must be short, lowercase and path-free.
    """
    if not isinstance(name, str):
        raise TopologyError("%s: namespace name %r must be a string" % (variable, name))
    if name == "":
        raise TopologyError("%s: a namespace name is empty" % variable)
    if len(name) > NAMESPACE_MAX_LEN:
        raise TopologyError(
            "%s: namespace name %r is %d characters long; at most %d are allowed"
            % (variable, name, len(name), NAMESPACE_MAX_LEN)
        )
    if "/" in name:
        raise TopologyError("%s: namespace name %r contains '/'; a namespace is one directory level" % (variable, name))
    if ".." in name:
        raise TopologyError("%s: namespace name %r contains '..'" % (variable, name))
    if not NAMESPACE_RE.fullmatch(name):
        raise TopologyError(
            "%s: namespace name %r must match [a-z0-9][a-z0-9_-]* (lowercase letters, digits, '_' and '-')"
            % (variable, name)
        )
    return name


def validate_root(root, variable="replication_root"):
    if not isinstance(root, str) or root == "":
        raise TopologyError("%s must be a non-empty absolute path, got %r" % (variable, root))
    if not root.startswith("/"):
        raise TopologyError("%s must be an absolute path, got relative path %r" % (variable, root))
    if not SAFE_PATH_RE.fullmatch(root):
        bad = sorted(set(c for c in root if not SAFE_PATH_RE.fullmatch(c)))
        raise TopologyError(
            "%s %r contains %s; only letters, digits, '.', '_', '-' and '/' are allowed (the path reaches shell "
            "commands, Docker bind mounts and config files)" % (variable, root, ", ".join(repr(c) for c in bad)))
    if ".." in root.split("/"):
        raise TopologyError("%s must not contain '..', got %r" % (variable, root))
    # normpath keeps a leading '//' (POSIX leaves it implementation-defined); collapse it.
    normalized = "/" + posixpath.normpath(root).lstrip("/")
    if normalized == "/":
        raise TopologyError("%s must not be '/'" % variable)
    return normalized


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return "%" not in value  # no IPv6 scope (fe80::1%eth0): it does not survive config files


def _is_host_name(value):
    labels = value.split(".")
    return len(value) <= HOST_NAME_MAX_LEN and all(HOST_LABEL_RE.fullmatch(label) for label in labels)


def validate_host_name(host, variable):
    """Return ``host`` if it is an IPv4/IPv6 address or a DNS name, raise TopologyError naming ``variable``.

    Inventory hostnames and addresses end up in node labels, Swarm secret and service names, gluster
    commands, auth.allow and Syncthing's config.xml.
    """
    if not isinstance(host, str) or not (_is_ip(host) or _is_host_name(host)):
        raise TopologyError(
            "%s must be an IPv4/IPv6 address or a DNS name (dot-separated labels of letters, digits, '-' and "
            "'_', at most %d characters), got %r" % (variable, HOST_NAME_MAX_LEN, host))
    return host


def validate_advertise_addr(value, variable):
    """``swarm_advertise_addr``: an address or a name (a DNS name or an interface such as eth0), with an
    optional port (``192.0.2.1:2377``, ``[2001:db8::1]:2377``, ``eth0:2377``)."""
    if isinstance(value, str):
        addr, port = value, None
        if value.startswith("[") and "]:" in value:
            addr, port = value[1:].split("]:", 1)
            if not _is_ip(addr) or ":" not in addr:
                addr = None
        elif value.count(":") == 1:
            addr, port = value.split(":")
        if addr and (port is None or (port.isdigit() and 0 < int(port) < 65536)) and (
                _is_ip(addr) or _is_host_name(addr)):
            return value
    raise TopologyError(
        "%s must be an IPv4/IPv6 address or a name (DNS name or network interface), optionally with ':port', "
        "got %r" % (variable, value))


def validate_host_vars(host, host_vars):
    """Check the address variables of one inventory host (``glusterfs_address``, ``ansible_host``,
    ``swarm_advertise_addr``) that are set; raise TopologyError naming the variable and the host."""
    for key in ADDRESS_VARS:
        if host_vars.get(key) not in (None, ""):
            validate_host_name(host_vars[key], "%s of host %r" % (key, host))
    if host_vars.get("swarm_advertise_addr") not in (None, ""):
        validate_advertise_addr(host_vars["swarm_advertise_addr"], "swarm_advertise_addr of host %r" % (host,))


def secret_name(*parts):
    """A Swarm secret name (at most 64 characters of [A-Za-z0-9_.-])."""
    name = "-".join(SECRET_NAME_RE.sub("_", str(p)) for p in parts)
    if len(name) > 64:
        raise TopologyError("secret name %r is longer than 64 characters; shorten replication_label_prefix "
                            "or the inventory hostnames" % name)
    return name


def namespace_config_name(label_prefix, name):
    """Name of the Swarm config that holds a namespace's identity (namespace_ids makes it).

    Swarm names have at most 64 characters; a long namespace name is cut and given a digest of the whole,
    so every namespace keeps a name of its own (the config's labels carry the full name).
    """
    name_ = "%s-ns-%s" % (SECRET_NAME_RE.sub("_", label_prefix.rstrip(".")), name)
    if len(name_) <= 64:
        return name_
    digest = hashlib.sha1(name_.encode("utf-8")).hexdigest()[:12]
    return name_[:64 - 13].rstrip("-_.") + "-" + digest


# The marker file inside a namespace that holds its identity (see docs/data-safety.md). p2p keeps it inside
# Syncthing's own folder marker, which Syncthing never syncs, so every node keeps its own.
MARKERS = {"bind": ".swarmdata-id", "glusterfs": ".swarmdata-id", "p2p": ".stfolder/swarmdata-id"}


def host_slug(host):
    """A DNS/service-name-safe form of an inventory hostname (lowercase letters, digits, '-')."""
    return SLUG_RE.sub("-", str(host).lower()).strip("-") or "host"


def _normalize_namespace(item, index, root):
    variable = "replication_namespaces[%d]" % index
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        raise TopologyError("%s must be a name or a dict with a 'name' key, got %r" % (variable, item))
    unknown = sorted(set(item) - set(NAMESPACE_KEYS))
    if unknown:
        raise TopologyError(
            "%s has unknown key(s) %s; allowed keys are %s" % (variable, ", ".join(unknown), ", ".join(NAMESPACE_KEYS))
        )
    if "name" not in item:
        raise TopologyError("%s has no 'name'" % variable)
    name = validate_namespace_name(item["name"], variable + ".name")
    criticality = item.get("criticality", "medium")
    if criticality not in CRITICALITIES:
        raise TopologyError(
            "%s.criticality must be one of %s, got %r" % (variable, ", ".join(CRITICALITIES), criticality)
        )
    owner = str(item.get("owner", "root"))
    group = str(item.get("group", owner if "owner" in item else "root"))
    for key, value in (("owner", owner), ("group", group)):
        if not OWNER_RE.fullmatch(value):
            raise TopologyError("%s.%s %r is not a user/group name or numeric id" % (variable, key, value))
        if value.isdigit() and int(value) > 4294967294:
            raise TopologyError("%s.%s %r is not a valid numeric id (at most 4294967294)" % (variable, key, value))
    mode = item.get("mode", "0755")
    if isinstance(mode, int) and not isinstance(mode, bool):
        # YAML reads an unquoted 0770 as the integer 504 (octal) and 750 as 750: from the integer alone,
        # 504 may be 0770 or a meant 0504. Refuse rather than guess.
        written = [("0%o" % mode, "0%o" % mode), (str(mode), "0%s" % mode)] if mode >= 0 else []
        hints = ["mode: \"%s\" if you wrote %s" % (quoted, plain) for plain, quoted in written
                 if MODE_RE.fullmatch(plain) and len(quoted) == 4]
        raise TopologyError(
            "%s.mode is the integer %d: YAML reads an unquoted mode as a number (0770 becomes 504), so the mode "
            "meant cannot be told apart; quote it (%s)" % (variable, mode, "; ".join(hints) or 'e.g. mode: "0750"'))
    mode = str(mode)
    if not MODE_RE.fullmatch(mode):
        raise TopologyError("%s.mode must be an octal string like '0750', got %r" % (variable, mode))
    if len(mode) == 3:
        mode = "0" + mode
    return {
        "name": name,
        "criticality": criticality,
        "owner": owner,
        "group": group,
        "mode": mode,
        "path": posixpath.join(root, "namespaces", name),
    }


def _hosts_of(groups, name, variable):
    hosts = groups.get(name) or []
    if not isinstance(hosts, (list, tuple)):
        raise TopologyError("inventory group %s (%s) must be a list of hosts" % (name, variable))
    return list(hosts)


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
):
    """Validate the inventory contract and return the replication plan.

    :param groups: mapping of inventory group name -> list of inventory hostnames
    :param addresses: inventory hostname -> the address its peers reach it by (default: the hostname)
    :raises TopologyError: on any bad input, naming the variable to change
    """
    # Variant first: everything else depends on it.
    if variant not in VARIANTS:
        raise TopologyError(
            "replication_variant must be one of %s, got %r" % (", ".join(VARIANTS), variant)
        )
    root = validate_root(root)
    if not isinstance(label_prefix, str) or not LABEL_PREFIX_RE.fullmatch(label_prefix):
        raise TopologyError(
            "replication_label_prefix must be lowercase dot/dash-separated words like 'swarmdata', got %r"
            % (label_prefix,)
        )
    if label_prefix.startswith(("com.docker", "io.docker", "org.dockerproject")):
        raise TopologyError("replication_label_prefix %r is reserved by Docker" % label_prefix)

    managers = _hosts_of(groups, managers_group, "swarm_managers_group")
    workers = _hosts_of(groups, workers_group, "swarm_workers_group")
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

    if namespaces is None:
        namespaces = []
    if not isinstance(namespaces, (list, tuple)):
        raise TopologyError("replication_namespaces must be a list, got %s" % type(namespaces).__name__)
    normalized = [_normalize_namespace(item, i, root) for i, item in enumerate(namespaces)]
    seen = set()
    for ns in normalized:
        ns["marker"] = posixpath.join(ns["path"], MARKERS[variant])
        ns["identity_config"] = namespace_config_name(label_prefix, ns["name"])
        if ns["name"] in seen:
            raise TopologyError("replication_namespaces: namespace %r is listed more than once" % ns["name"])
        seen.add(ns["name"])

    if variant in VARIANTS_WITH_PRIMARY:
        if primary in (None, ""):
            raise TopologyError(
                "replication_primary must name the primary host for variant %r (one of: %s)"
                % (variant, ", ".join(hosts))
            )
        if isinstance(primary, (list, tuple)):
            raise TopologyError(
                "replication_primary must name exactly one host, got %d: %s"
                % (len(primary), ", ".join(map(str, primary)))
            )
        if primary not in hosts:
            raise TopologyError(
                "replication_primary %r is not in %r or %r (hosts: %s)"
                % (primary, managers_group, workers_group, ", ".join(hosts))
            )
        if len(hosts) < 2:
            raise TopologyError(
                "replication_variant %r needs at least 2 hosts (a primary and a replica) in %r and %r, got 1"
                % (variant, managers_group, workers_group))
    else:
        primary = None

    addresses = dict((h, (addresses or {}).get(h) or h) for h in hosts)
    for host in hosts:
        variable = "the address of host %r (glusterfs_address / ansible_host)" % (host,)
        validate_host_name(addresses[host], variable)
        if variant in ("glusterfs", "p2p") and ":" in addresses[host]:
            # Brick names and fstab sources are 'address:path', Syncthing's peers 'tcp://address:port'.
            raise TopologyError("%s is the IPv6 address %r; variant %r needs an IPv4 address or a DNS name"
                                % (variable, addresses[host], variant))
    if variant in ("glusterfs", "p2p"):  # the variants whose peers connect to each other's address
        same_address = sorted(h for h in hosts if list(addresses.values()).count(addresses[h]) > 1)
        if same_address:
            raise TopologyError("hosts %s have the same address (glusterfs_address / ansible_host); each host "
                                "needs its own" % ", ".join(same_address))

    gluster = None
    if variant == "glusterfs":
        gluster = _gluster_layout(len(hosts), replica_count)
        gluster["volume"] = label_prefix.replace(".", "-")
        gluster["brick_root"] = posixpath.join(root, "brick")
        gluster["mount"] = posixpath.join(root, "namespaces")
        bricks = [{"host": h, "path": posixpath.join(gluster["brick_root"], gluster["volume"]), "arbiter": False}
                  for h in hosts]
        if gluster["arbiter"]:
            # Two hosts: the arbiter (metadata only) sits on the first one, in its own directory.
            bricks.append({"host": hosts[0], "arbiter": True,
                           "path": posixpath.join(gluster["brick_root"], gluster["volume"] + "-arbiter")})
        for b in bricks:
            b["name"] = "%s:%s" % (addresses[b["host"]], b["path"])
        gluster["bricks"] = bricks
    elif replica_count not in (None, ""):
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

    # ssh_keys is what swarm_ssh_keys takes: every keypair the variant keeps as a Swarm secret.
    secrets = {"ssh_keys": []}
    if variant == "bind":
        secrets["mover_key"] = secret_name(label_prefix, "mover", "key")
        secrets["host_keys"] = dict(
            (h, secret_name(label_prefix, "hostkey", h)) for h in hosts if h != primary
        )
        secrets["ssh_keys"] = [{"name": secrets["mover_key"], "comment": "%s mover" % label_prefix}] + [
            {"name": name, "comment": "%s receiver on %s" % (label_prefix, host)}
            for host, name in secrets["host_keys"].items()
        ]
    elif variant == "p2p":
        # Every node's Syncthing identity (certificate and key) and the REST API key, as Swarm secrets.
        secrets["syncthing_identities"] = [
            {"name": secret_name(label_prefix, "syncthing", h), "host": h} for h in hosts]
        secrets["syncthing_api_key"] = secret_name(label_prefix, "syncthing", "apikey")

    base_dirs = [
        {"path": root, "owner": "root", "group": "root", "mode": "0755"},
        {"path": posixpath.join(root, "namespaces"), "owner": "root", "group": "root", "mode": "0755"},
        {"path": posixpath.join(root, "state"), "owner": "root", "group": "root", "mode": "0700"},
    ]
    if variant == "glusterfs":
        base_dirs.append({"path": posixpath.join(root, "brick"), "owner": "root", "group": "root", "mode": "0700"})
    if variant == "p2p":
        base_dirs.append({"path": posixpath.join(root, "state", "syncthing"), "owner": "root", "group": "root",
                          "mode": "0700"})

    slugs = [host_slug(h) for h in hosts]
    clashes = sorted(h for i, h in enumerate(hosts) if slugs.count(slugs[i]) > 1)
    if clashes:
        raise TopologyError("inventory hostnames %s differ only in case or punctuation; they would share "
                            "service names" % ", ".join(clashes))

    nodes = {}
    for host in hosts:
        if variant == "bind":
            role = "primary" if host == primary else "replica"
        else:
            role = "peer"
        if variant == "bind":
            peers = [h for h in hosts if h != primary] if role == "primary" else [primary]
        else:
            peers = [h for h in hosts if h != host]
        nodes[host] = {
            "name": host,
            "slug": host_slug(host),
            # The bind receiver's Swarm service (and DNS) name on a replica, else null.
            "receiver": "recv-%s" % host_slug(host) if role == "replica" else None,
            "role": role,
            # Pins a per-node service (e.g. a replica's receiver) to exactly this node.
            "constraints": ["node.labels.%s == %s" % (label("host"), host)] + constraints[role],
            "swarm_role": "manager" if host in managers else "worker",
            "address": addresses[host],
            "labels": {
                role_label: role,
                label("member"): "true",
                label("variant"): variant,
                label("host"): host,
            },
            "peers": peers,
            "directories": list(base_dirs),
            # On glusterfs the namespaces live in the shared mount and are made
            # once, through it; on the other variants every node holds its own copy.
            "namespace_dirs": [] if variant == "glusterfs" else [ns["path"] for ns in normalized],
        }

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
        "secrets": secrets,
        "gluster": gluster,
        "nodes": nodes,
    }


def _gluster_layout(node_count, replica_count):
    """Replica/arbiter layout for a GlusterFS volume over ``node_count`` bricks."""
    if node_count < 2:
        raise TopologyError("replication_variant 'glusterfs' needs at least 2 hosts, got %d" % node_count)
    if replica_count in (None, ""):
        if node_count == 2:
            # Plain replica 2 splits brain; 2 data bricks + an arbiter brick does not.
            return {"replica": 2, "arbiter": 1}
        if node_count % 3:
            raise TopologyError(
                "replication_replica_count is unset and the %d hosts are not a multiple of 3: set it to a "
                "count that divides %d (at least 3), e.g. %d for one brick per host"
                % (node_count, node_count, node_count))
        replica_count = 3
    try:
        replica_count = int(replica_count)
    except (TypeError, ValueError):
        raise TopologyError("replication_replica_count must be an integer, got %r" % (replica_count,)) from None
    if replica_count > node_count:
        raise TopologyError(
            "replication_replica_count is %d but there are only %d hosts" % (replica_count, node_count)
        )
    if replica_count == 2:
        raise TopologyError(
            "replication_replica_count 2 (plain replica 2) splits brain; use 3, or leave it unset on 2 hosts "
            "to get replica 2 with an arbiter"
        )
    if replica_count < 2:
        raise TopologyError("replication_replica_count must be at least 3, got %d" % replica_count)
    if node_count % replica_count:
        raise TopologyError(
            "replication_replica_count %d does not divide the %d hosts; a GlusterFS volume needs a multiple "
            "of the replica count in bricks" % (replica_count, node_count)
        )
    return {"replica": replica_count, "arbiter": 0}
