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
      - Required unless O(state=query).
    type: list
    elements: str
    aliases: [names]
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
        Requires exactly one O(name).
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
    type: str
    choices: [never, missing, always]
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
    - State of each named namespace's marker after the run, when O(marker) and O(identity) are given.
    - V(ok) holds the identity; V(missing) has no marker (the replication engines refuse the namespace);
      V(mismatch) holds another identity (they refuse it too).
  returned: when O(marker) and O(identity) are given
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
            self.names = [validate_namespace_name(n, "name") for n in (self.params["name"] or [])]
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

    def present(self):
        for parent in (self.root, self.base):
            self._check_not_link(parent)
            if not os.path.isdir(parent):
                self.changed = True
                if not self.check_mode:
                    os.makedirs(parent, 0o755)
        for name in self.names:
            path = self.path(name)
            self._check_not_link(path)
            before = {"state": "directory" if os.path.isdir(path) else "absent"}
            after = {"state": "directory"}
            if before["state"] == "absent":
                self.changed = True
                if not self.check_mode:
                    os.mkdir(path, 0o700)
            attr_diff = {"before": {}, "after": {}}
            file_args = self.module.load_file_common_arguments(
                dict(owner=self.params["owner"], group=self.params["group"], mode=self.params["mode"]), path=path)
            if os.path.isdir(path):
                self.changed = self.module.set_fs_attributes_if_different(file_args, self.changed, attr_diff)
            else:
                # Check mode on a directory that does not exist yet: report what it would get.
                attr_diff["after"] = {"owner": self.params["owner"], "group": self.params["group"],
                                      "mode": self.params["mode"]}
            before.update(attr_diff["before"])
            after.update(attr_diff["after"])
            if self.marker and self.params["identity"]:
                before["marker"], after["marker"] = self.ensure_marker(name, path)
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

    def marker_state(self, name):
        found = self.read_marker(name)
        if found is None:
            return "missing"
        return "ok" if found == self.params["identity"] else "mismatch"

    def ensure_marker(self, name, path):
        """(state before, state after) of the namespace's marker; writes it only as marker_write allows."""
        state = self.marker_state(name) if os.path.isdir(path) else "missing"
        write = self.params["marker_write"]
        if state == "ok" or write == "never":
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
                handle.write(self.params["identity"] + "\n")
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
        if state != "query" and not self.names:
            self.module.fail_json(msg="name is required when state is %s" % state)
        if state == "present":
            self.present()
        elif state == "absent":
            self.absent()
        result = dict(changed=self.changed, paths=self.paths(), has=self.has(), namespaces=self.listing())
        if found is not None:
            result["found"] = found
        if self.marker and self.params["identity"]:
            for name in self.names:
                self.markers.setdefault(name, self.marker_state(name))
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
            state=dict(type="str", choices=["present", "absent", "query"], default="present"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="str", default="0755"),
            force=dict(type="bool", default=False),
            marker=dict(type="str"),
            identity=dict(type="str"),
            marker_write=dict(type="str", choices=["never", "missing", "always"], default="never"),
        ),
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
