# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the ``gluster`` CLI with ``--xml`` and parse what it prints.

Private to the swarmdata.replication collection: no compatibility promise.

The XML form is stable across GlusterFS releases where the text form is not,
and it carries an ``opRet``/``opErrstr`` pair even when the exit code is 0
(``gluster volume info missing --xml`` exits 0), so every call checks both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import xml.etree.ElementTree as ET


class GlusterError(Exception):
    """The gluster CLI refused or failed; the message says which command and why."""


def _text(node, tag, default=""):
    value = node.findtext(tag)
    return default if value is None else value.strip()


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def run_gluster(module, *args, **fail_kwargs):
    """Output of ``gluster --mode=script ARGS --xml`` run by ``module``.

    Fails the module when the CLI prints nothing (glusterd down, say); ``fail_kwargs`` go into that failure.
    Whether the command itself succeeded is in the XML (see parse_cli and op_error), not in the exit code.
    """
    argv = ["gluster", "--mode=script"] + list(args) + ["--xml"]
    rc, out, err = module.run_command(argv)
    if not out.strip():
        module.fail_json(msg="%s failed (rc=%d): %s. Is glusterd running on this node?"
                             % (" ".join(argv[:-1]), rc, (err or "no output").strip().rstrip(".")), **fail_kwargs)
    return out


def parse_cli(xml_text, command="gluster"):
    """Return the ``cliOutput`` element; raise GlusterError when ``opRet`` is not 0."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise GlusterError("%s: output is not XML (%s): %s" % (command, exc, xml_text.strip()[:300])) from None
    ret = _int(_text(root, "opRet", "0"), -1)
    if ret != 0:
        raise GlusterError("%s failed: %s (opErrno %s)" % (
            command, _text(root, "opErrstr") or "no error text", _text(root, "opErrno") or "?"))
    return root


def op_error(xml_text):
    """``opErrstr`` of an XML answer whose ``opRet`` is not 0, else None."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return xml_text.strip() or "no output"
    if _int(_text(root, "opRet", "0"), -1) != 0:
        return _text(root, "opErrstr") or "opErrno %s" % (_text(root, "opErrno") or "?")
    return None


def parse_pool(xml_text):
    """``gluster pool list --xml`` -> list of peers; the local node has ``self: True``."""
    root = parse_cli(xml_text, "gluster pool list")
    peers = []
    for peer in root.iter("peer"):
        hostnames = [h.text.strip() for h in peer.findall("hostnames/hostname") if h.text]
        hostname = _text(peer, "hostname")
        peers.append({
            "uuid": _text(peer, "uuid"),
            "hostname": hostname,
            "hostnames": hostnames or [hostname],
            "connected": _text(peer, "connected") == "1",
            "state": _text(peer, "stateStr") or ("local" if hostname == "localhost" else ""),
            "self": hostname == "localhost",
        })
    return peers


def split_brick(name):
    """'host:/path' -> ('host', '/path')."""
    host, sep, path = name.rpartition(":")
    if not sep or not host or not path.startswith("/"):
        raise GlusterError("brick %r is not host:/absolute/path" % name)
    return host, path


def parse_volume_info(xml_text):
    """``gluster volume info [NAME] --xml`` -> {name: volume}; {} when the named volume does not exist."""
    error = op_error(xml_text)
    if error is not None:
        if "does not exist" in error:
            return {}
        raise GlusterError("gluster volume info failed: %s" % error)
    root = ET.fromstring(xml_text)
    volumes = {}
    for vol in root.iter("volume"):
        bricks = []
        for brick in vol.findall("bricks/brick"):
            name = _text(brick, "name") or (brick.text or "").strip()
            host, path = split_brick(name)
            bricks.append({"name": name, "host": host, "path": path, "uuid": _text(brick, "hostUuid"),
                           "arbiter": _text(brick, "isArbiter") == "1"})
        options = dict((_text(o, "name"), _text(o, "value")) for o in vol.findall("options/option"))
        name = _text(vol, "name")
        volumes[name] = {
            "name": name,
            "id": _text(vol, "id"),
            "status": _text(vol, "statusStr"),
            "started": _text(vol, "statusStr") == "Started",
            "type": _text(vol, "typeStr"),
            "replica": _int(_text(vol, "replicaCount"), 1),
            "arbiter": _int(_text(vol, "arbiterCount"), 0),
            "bricks": bricks,
            "options": options,
        }
    return volumes


def parse_volume_status(xml_text):
    """``gluster volume status NAME --xml`` -> {'bricks': [...], 'self_heal': [...]}.

    A volume that is not started answers with opRet -1; that gives empty lists, not an error.
    """
    if op_error(xml_text) is not None:
        return {"bricks": [], "self_heal": []}
    root = ET.fromstring(xml_text)
    bricks, self_heal = [], []
    for node in root.iter("node"):
        entry = {"host": _text(node, "hostname"), "path": _text(node, "path"), "peer": _text(node, "peerid"),
                 "online": _text(node, "status") == "1", "pid": _int(_text(node, "pid")),
                 "port": _int(_text(node, "port"))}
        if entry["host"] == "Self-heal Daemon":
            entry["host"] = entry.pop("path")
            self_heal.append(entry)
        elif entry["path"].startswith("/"):
            entry["name"] = "%s:%s" % (entry["host"], entry["path"])
            bricks.append(entry)
    return {"bricks": bricks, "self_heal": self_heal}


def namespace_of(path):
    """First component of a path inside the volume ('/wiki/a/b' -> 'wiki'); '/' for the root itself."""
    parts = [p for p in path.split("/") if p]
    return parts[0] if parts else "/"


def parse_heal_info(xml_text):
    """``gluster volume heal NAME info --xml`` -> list of bricks with their pending entries.

    ``pending`` is None for a brick that cannot be reached (its count is unknown, not zero).
    ``by_namespace`` counts entries per first path component; entries shown only as a GFID
    (the path is not known yet) are counted under '<gfid>'.
    """
    root = parse_cli(xml_text, "gluster volume heal info")
    bricks = []
    for brick in root.iter("brick"):
        entries = []
        for f in brick.findall("file"):
            path = (f.text or "").strip()
            entries.append(path if path.startswith("/") else "<gfid>")
        # 'heal info' says numberOfEntries, 'heal info summary' totalNumberOfEntries; '-' when unreachable.
        count = _int(_text(brick, "numberOfEntries") or _text(brick, "totalNumberOfEntries"))
        by_ns = {}
        for path in entries:
            ns = path if path == "<gfid>" else namespace_of(path)
            by_ns[ns] = by_ns.get(ns, 0) + 1
        status = _text(brick, "status")
        bricks.append({"name": _text(brick, "name"), "status": status, "connected": status == "Connected",
                       "pending": count, "by_namespace": by_ns})
    return bricks


def brick_layout(hosts, brick_root, volume, replica, arbiter, address=None):
    """The bricks of the volume in create order, one data brick per host.

    With two hosts (replica 2 + arbiter 1) the arbiter brick, which holds only metadata, goes on the
    first host in its own directory: client quorum then needs two of the three bricks, so writes go on
    while the first host is up and never split brain. ``address`` maps an inventory host to the name
    its peers reach it by.
    """
    address = address or {}
    data_dir = posixpath.join(brick_root, volume)
    bricks = [{"host": h, "address": address.get(h, h), "path": data_dir, "arbiter": False} for h in hosts]
    if arbiter:
        if len(hosts) != 2 or replica != 2:
            raise GlusterError("an arbiter is only laid out for 2 hosts with replica 2, got %d hosts, replica %d"
                               % (len(hosts), replica))
        bricks.append({"host": hosts[0], "address": address.get(hosts[0], hosts[0]),
                       "path": posixpath.join(brick_root, volume + "-arbiter"), "arbiter": True})
    for b in bricks:
        b["name"] = "%s:%s" % (b["address"], b["path"])
    return bricks
