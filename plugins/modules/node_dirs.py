#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_dirs
author: swarmdata.replication maintainers (@swarmdata)
short_description: Create, remove, find and list namespace directories on a node
version_added: 0.1.0
description:
  - Manages the per-application namespace directories under C(<root>/namespaces) on one node,
    the namespace verbs C(add) (O(state=present)), C(del) (O(state=absent)),
    C(path), C(has) and C(list) (O(state=query), and every state returns them).
  - Refuses to delete a namespace that still holds data unless O(force=true).
  - Never follows a symlink in place of a namespace directory.
  - One call can also create the node's other directories (O(directories)) and give each namespace its own owner,
    mode and identity (O(namespaces)), so that a run prepares a node in one round trip instead of one per directory.
extends_documentation_fragment:
  - swarmdata.replication.common.ATTRIBUTES
options:
  root:
    description: The collection's data root on the node (C(replication_root)). Must be absolute.
    type: path
    required: true
  name:
    description:
      - Namespace name(s). Each matches C([a-z0-9][a-z0-9_-]*) and has at most 63 characters.
      - Required unless O(state=query) or O(namespaces) is given. Mutually exclusive with O(namespaces).
    type: list
    elements: str
    aliases: [names]
  namespaces:
    description:
      - The namespaces with settings of their own, one entry per namespace. An entry's unset keys take the
        module's O(owner), O(group), O(mode) and O(marker_write).
      - Mutually exclusive with O(name) and O(identity). An empty list is a node that holds no namespace (glusterfs
        nodes, whose namespaces are in the volume), so only O(directories) are made.
    type: list
    elements: dict
    suboptions:
      name:
        description: Namespace name, as in O(name).
        type: str
        required: true
      owner:
        description: Owner (name or uid) of this namespace's directory.
        type: str
      group:
        description: Group (name or gid) of this namespace's directory.
        type: str
      mode:
        description: Mode of this namespace's directory, as an octal string.
        type: str
      identity:
        description: This namespace's identity from the cluster, as in O(identity).
        type: str
      marker_write:
        description: As O(marker_write), for this namespace.
        type: str
        choices: [never, missing, always, empty]
  directories:
    description:
      - Other directories to create, in order, before the namespaces (with O(state=present) only), for example the
        node's base directories from the topology plan.
      - As with M(ansible.builtin.file), missing parents are made, and a symlink to a directory is followed (a
        state or brick directory on another disk). A symlink in place of a namespace directory is still refused.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: Owner (name or uid).
        type: str
        default: root
      group:
        description: Group (name or gid).
        type: str
        default: root
      mode:
        description: Mode, as an octal string.
        type: str
        default: "0755"
  state:
    description:
      - V(present) creates the directories and sets owner, group and mode.
      - V(absent) removes them; a non-empty one only with O(force=true).
      - V(query) changes nothing and reports.
    type: str
    choices: [present, absent, query]
    default: present
  owner:
    description: Owner (name or uid) of the namespace directories.
    type: str
    default: root
  group:
    description: Group (name or gid) of the namespace directories.
    type: str
    default: root
  mode:
    description: Mode of the namespace directories, as an octal string.
    type: str
    default: "0755"
  force:
    description: With O(state=absent), delete a namespace directory even if it is not empty.
    type: bool
    default: false
  marker:
    description:
      - Path, relative to each namespace directory, of the marker file that holds the namespace's identity
        (the topology plan's C(namespaces[].marker); C(.swarmdata-id), or C(.stfolder/swarmdata-id) for p2p).
      - The module reports each marker in RV(markers) and writes one only as O(marker_write) allows.
    type: str
  identity:
    description:
      - The namespace's identity from the cluster (module M(swarmdata.replication.namespace_ids)).
        Requires exactly one O(name); with several namespaces, give each its own in O(namespaces).
    type: str
  marker_write:
    description:
      - V(never) only checks the marker. This is what every run uses once the cluster knows the namespace, since a
        namespace that came back empty (an unmounted disk, a reinstalled host) must stay refused, not be
        repaired.
      - V(missing) writes the marker where there is none, and fails where one holds another identity. Used in the
        run that gives the namespace its identity.
      - V(always) writes it where missing or different, to accept a deliberately emptied or replaced namespace
        (C(playbooks/accept_namespace.yml)).
      - V(empty) writes it where there is none only if the namespace directory holds nothing (it was just made, or
        is empty but for the marker's own empty parent directory), and otherwise leaves the namespace refused.
        Used for a p2p node new to the cluster, whose empty copy can only receive (docs/nodes.md).
    type: str
    choices: [never, missing, always, empty]
    default: never
"""

EXAMPLES = r"""
- name: Add two namespaces ('add')
  swarmdata.replication.node_dirs:
    root: /opt/swarmdata
    name: [wiki, db]
    owner: "999"
    mode: "0750"

- name: Delete an empty namespace ('del'); refuses if it holds data
  swarmdata.replication.node_dirs:
    root: /opt/swarmdata
    name: wiki
    state: absent

- name: Path, has and list ('path', 'has', 'list')
  swarmdata.replication.node_dirs:
    root: /opt/swarmdata
    name: wiki
    state: query
  register: ns

- name: Show them
  ansible.builtin.debug:
    msg: "{{ ns.paths.wiki }} exists={{ ns.has.wiki }}; all: {{ ns.namespaces }}"

- name: Check the namespace's marker against its identity in the cluster; never write it
  swarmdata.replication.node_dirs:
    root: /opt/swarmdata
    name: wiki
    marker: .swarmdata-id
    identity: 8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11
  register: ns

- name: Prepare a node in one call - its base directories, then each namespace with its own owner and identity
  swarmdata.replication.node_dirs:
    root: /opt/swarmdata
    directories:
      - {path: /opt/swarmdata}
      - {path: /opt/swarmdata/state, mode: "0700"}
    namespaces:
      - {name: wiki, identity: 8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11}
      - {name: db, owner: "999", group: "999", mode: "0750", identity: 0b3f6c1e-2a7d-4e8f-9b1c-7d5e3a2f1c09}
    marker: .swarmdata-id

- name: Say when the disk seems not mounted
  ansible.builtin.debug:
    msg: "wiki's marker is {{ ns.markers.wiki }}"
"""

RETURN = r"""
paths:
  description: Path of each named namespace ('path').
  returned: always
  type: dict
  sample: {"wiki": "/opt/swarmdata/namespaces/wiki"}
has:
  description: Whether each named namespace directory exists after the run ('has').
  returned: always
  type: dict
  sample: {"wiki": true}
found:
  description:
    - The content of each named namespace's marker before the run (null where there is none), when O(marker) is
      given. C(site.yml) reads it on every node before the cluster gives a namespace an identity, so a swarm
      formed anew adopts the identity its copies already carry instead of making a new one.
  returned: when O(marker) is given
  type: dict
  sample: {"wiki": "8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11"}
markers:
  description:
    - State of each named namespace's marker after the run, when O(marker) and O(identity) are given (with
      O(namespaces), for each entry that has an identity).
    - V(ok) holds the identity; V(missing) has no marker (the replication engines refuse the namespace);
      V(mismatch) holds another identity (they refuse it too).
  returned: when O(marker) and an identity are given
  type: dict
  sample: {"wiki": "ok"}
namespaces:
  description: Every namespace directory under C(<root>/namespaces) after the run ('list').
  returned: always
  type: list
  elements: str
  sample: [db, wiki]
"""

import os
import shutil
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._topology import (
    TopologyError,
    validate_namespace_name,
    validate_root,
)


class NamespaceDirs(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.changed = False
        self.diff = {"before": {}, "after": {}}
        try:
            self.root = validate_root(self.params["root"], "root")
            if self.params["namespaces"] is not None:
                self.entries = [self.entry(e) for e in self.params["namespaces"]]
            else:
                self.entries = [self.entry({"name": n, "identity": self.params["identity"]})
                                for n in (self.params["name"] or [])]
            self.names = [e["name"] for e in self.entries]
            self.directories = [self.directory(d) for d in self.params["directories"]]
        except TopologyError as exc:
            module.fail_json(msg=str(exc))
        self.base = os.path.join(self.root, "namespaces")
        self.markers = {}
        self.marker = self.params["marker"]
        if self.marker is not None:
            parts = self.marker.split("/")
            if self.marker.startswith("/") or any(p in ("", ".", "..") for p in parts):
                module.fail_json(msg="marker must be a relative path inside the namespace, got %r" % self.marker)
        if self.params["identity"] is not None and len(self.names) != 1:
            module.fail_json(msg="identity needs exactly one name, got %d" % len(self.names))
        if len(set(self.names)) != len(self.names):
            module.fail_json(msg="namespaces names a namespace twice: %s" % ", ".join(self.names))

    def entry(self, given):
        """One namespace's settings: its own where given, the module's otherwise."""
        name = validate_namespace_name(given["name"], "namespaces[].name" if self.params["namespaces"] else "name")
        settings = dict((k, given.get(k) if given.get(k) is not None else self.params[k])
                        for k in ("owner", "group", "mode", "marker_write"))
        settings.update(name=name, identity=given.get("identity"))
        return settings

    def directory(self, given):
        if not os.path.isabs(given["path"]):
            raise TopologyError("directories[].path must be absolute, got %r" % given["path"])
        return dict(given, path=os.path.normpath(given["path"]))

    def path(self, name):
        return os.path.join(self.base, name)

    def listing(self):
        if not os.path.isdir(self.base):
            return []
        return sorted(
            n for n in os.listdir(self.base)
            if os.path.isdir(os.path.join(self.base, n)) and not os.path.islink(os.path.join(self.base, n))
        )

    def _check_not_link(self, path):
        if os.path.islink(path):
            self.module.fail_json(msg="%s is a symlink; a namespace must be a real directory. Remove the link." % path)
        if os.path.exists(path) and not os.path.isdir(path):
            self.module.fail_json(msg="%s exists and is not a directory. Move it away first." % path)

    def ensure_dir(self, path, owner, group, mode, create_mode=0o700, other=False):
        """(before, after) of one directory; creates it and sets owner, group and mode where they differ.

        ``other`` (a directories entry, not a namespace): as ansible.builtin.file does, missing parents are
        made and a symlink to a directory is followed (a state or brick directory on another disk)."""
        if other and os.path.islink(path) and os.path.isdir(path):
            path = os.path.realpath(path)
        self._check_not_link(path)
        before = {"state": "directory" if os.path.isdir(path) else "absent"}
        after = {"state": "directory"}
        if before["state"] == "absent":
            self.changed = True
            if not self.check_mode:
                if other and not os.path.isdir(os.path.dirname(path)):
                    os.makedirs(os.path.dirname(path), 0o755)
                os.mkdir(path, create_mode)
        attr_diff = {"before": {}, "after": {}}
        file_args = self.module.load_file_common_arguments(dict(owner=owner, group=group, mode=mode), path=path)
        if os.path.isdir(path):
            self.changed = self.module.set_fs_attributes_if_different(file_args, self.changed, attr_diff)
        else:
            # Check mode on a directory that does not exist yet: report what it would get.
            attr_diff["after"] = {"owner": owner, "group": group, "mode": mode}
        before.update(attr_diff["before"])
        after.update(attr_diff["after"])
        return before, after

    def present(self):
        for d in self.directories:
            before, after = self.ensure_dir(d["path"], d["owner"], d["group"], d["mode"], other=True)
            self.diff["before"][d["path"]] = before
            self.diff["after"][d["path"]] = after
        for parent in (self.root, self.base):
            self._check_not_link(parent)
            if not os.path.isdir(parent):
                self.changed = True
                if not self.check_mode:
                    os.makedirs(parent, 0o755)
        for entry in self.entries:
            path = self.path(entry["name"])
            before, after = self.ensure_dir(path, entry["owner"], entry["group"], entry["mode"])
            if self.marker and entry["identity"]:
                before["marker"], after["marker"] = self.ensure_marker(entry, path)
            self.diff["before"][path] = before
            self.diff["after"][path] = after

    def read_marker(self, name):
        """The marker's content, or None where there is none (or it is not a readable file)."""
        path = os.path.join(self.path(name), self.marker)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read(4096).strip()
        except (OSError, IOError):
            return None

    def marker_state(self, entry):
        found = self.read_marker(entry["name"])
        if found is None:
            return "missing"
        return "ok" if found == entry["identity"] else "mismatch"

    def holds_nothing(self, path):
        """True if the namespace directory is missing or empty, the marker's own empty parent directory aside."""
        if not os.path.isdir(path):
            return True
        entries = os.listdir(path)
        first = self.marker.split("/")[0]
        if entries == [first] and first != self.marker:
            inner = os.path.join(path, first)
            return os.path.isdir(inner) and not os.path.islink(inner) and not os.listdir(inner)
        return not entries

    def ensure_marker(self, entry, path):
        """(state before, state after) of the namespace's marker; writes it only as marker_write allows."""
        name = entry["name"]
        state = self.marker_state(entry) if os.path.isdir(path) else "missing"
        write = entry["marker_write"]
        if state == "ok" or write == "never" or (write == "empty" and not self.holds_nothing(path)):
            self.markers[name] = state
            return state, state
        if state == "mismatch" and write != "always":
            self.module.fail_json(
                msg="namespace %r at %s holds the marker of another identity (%s); nothing was written. If this "
                    "data is the namespace's, accept it with playbooks/accept_namespace.yml -e namespace=%s"
                    % (name, path, self.marker, name))
        self.changed = True
        self.markers[name] = "ok"
        if not self.check_mode:
            target = os.path.join(path, self.marker)
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=".swarmdata-id.")
            with os.fdopen(fd, "w") as handle:
                handle.write(entry["identity"] + "\n")
            os.chmod(tmp, 0o644)
            os.rename(tmp, target)
        return state, "ok"

    def absent(self):
        for parent in (self.root, self.base):
            self._check_not_link(parent)
        # Check every namespace before deleting any, so a refusal leaves all of them as they were.
        doomed = []
        for name in self.names:
            path = self.path(name)
            self._check_not_link(path)
            if not os.path.isdir(path):
                self.diff["before"][path] = self.diff["after"][path] = {"state": "absent"}
                continue
            entries = os.listdir(path)
            if entries and not self.params["force"]:
                self.module.fail_json(
                    msg="namespace %r at %s is not empty (%d entries); nothing was deleted. "
                        "Empty it, or set force: true to delete its data" % (name, path, len(entries)),
                    paths=self.paths(), has=self.has(), namespaces=self.listing())
            doomed.append((path, entries))
        for path, entries in doomed:
            self.diff["before"][path] = {"state": "directory", "entries": len(entries)}
            self.diff["after"][path] = {"state": "absent"}
            self.changed = True
            if not self.check_mode:
                shutil.rmtree(path)

    def paths(self):
        return dict((n, self.path(n)) for n in self.names)

    def has(self):
        return dict((n, os.path.isdir(self.path(n)) and not os.path.islink(self.path(n))) for n in self.names)

    def run(self):
        state = self.params["state"]
        found = dict((n, self.read_marker(n)) for n in self.names) if self.marker else None
        # namespaces given as an empty list is a node that holds none (glusterfs: they live in the volume).
        if state != "query" and not self.names and self.params["namespaces"] is None and not self.directories:
            self.module.fail_json(msg="name is required when state is %s" % state)
        if state == "absent" and not self.names:
            self.module.fail_json(msg="name is required when state is absent")
        if state == "present":
            self.present()
        elif state == "absent":
            self.absent()
        result = dict(changed=self.changed, paths=self.paths(), has=self.has(), namespaces=self.listing())
        if found is not None:
            result["found"] = found
        if self.marker and any(e["identity"] for e in self.entries):
            for entry in self.entries:
                if entry["identity"]:
                    self.markers.setdefault(entry["name"], self.marker_state(entry))
            result["markers"] = self.markers
        if self.check_mode and self.changed:
            # Report the state the run would leave, not the untouched disk.
            wanted = state == "present"
            result["has"] = dict((n, wanted) for n in self.names)
            listed = set(result["namespaces"])
            listed = listed | set(self.names) if wanted else listed - set(self.names)
            result["namespaces"] = sorted(listed)
        if self.module._diff:
            result["diff"] = self.diff
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True),
            name=dict(type="list", elements="str", aliases=["names"]),
            namespaces=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="str"),
                identity=dict(type="str"),
                marker_write=dict(type="str", choices=["never", "missing", "always", "empty"]),
            )),
            directories=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                owner=dict(type="str", default="root"),
                group=dict(type="str", default="root"),
                mode=dict(type="str", default="0755"),
            )),
            state=dict(type="str", choices=["present", "absent", "query"], default="present"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="str", default="0755"),
            force=dict(type="bool", default=False),
            marker=dict(type="str"),
            identity=dict(type="str"),
            marker_write=dict(type="str", choices=["never", "missing", "always", "empty"], default="never"),
        ),
        mutually_exclusive=[("name", "namespaces"), ("identity", "namespaces")],
        supports_check_mode=True,
    )
    try:
        result = NamespaceDirs(module).run()
    except (OSError, IOError) as exc:
        module.fail_json(msg="cannot manage namespace directories under %s: %s" % (module.params["root"], exc),
                         exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
