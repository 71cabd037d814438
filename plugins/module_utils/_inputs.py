# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of the inventory contract's inputs, shared by the plan and the modules.

Private to the swarmdata.replication collection: no compatibility promise. Every error names the inventory
variable to change (TopologyError).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import posixpath
import re

CRITICALITIES = ("critical", "high", "medium", "low")
NAMESPACE_KEYS = ("name", "criticality", "owner", "group", "mode", "primary", "snapshots", "backup", "hooks")
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
    return swarm_object_name("%s-ns-%s" % (SECRET_NAME_RE.sub("_", label_prefix.rstrip(".")), name))


def swarm_object_name(head, tail=""):
    """``head + tail`` within Swarm's 64 characters: a long ``head`` is cut and given a digest of itself, so
    distinct heads keep distinct names; ``tail`` (e.g. an epoch) is always kept whole."""
    if len(head) + len(tail) <= 64:
        return head + tail
    digest = hashlib.sha1(head.encode("utf-8")).hexdigest()[:12]
    return head[:64 - len(tail) - 13].rstrip("-_.") + "-" + digest + tail


def host_slug(host):
    """A DNS/service-name-safe form of an inventory hostname (lowercase letters, digits, '-')."""
    return SLUG_RE.sub("-", str(host).lower()).strip("-") or "host"


def normalize_namespace(item, index, root):
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
    normalized = {
        "name": name,
        "criticality": criticality,
        "owner": owner,
        "group": group,
        "mode": mode,
        "path": posixpath.join(root, "namespaces", name),
    }
    # Variant-specific keys (bind: primary, snapshots) are checked by the variant's plan module; backup and hooks by
    # _backup.
    for key in ("primary", "snapshots", "backup", "hooks"):
        if key in item:
            normalized[key] = item[key]
    return normalized


def hosts_of(groups, name, variable):
    hosts = groups.get(name) or []
    if not isinstance(hosts, (list, tuple)):
        raise TopologyError("inventory group %s (%s) must be a list of hosts" % (name, variable))
    return list(hosts)
