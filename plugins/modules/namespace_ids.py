#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_ids
author: swarmdata.replication maintainers (@swarmdata)
short_description: Give each namespace an identity kept in the cluster, as a Swarm config
version_added: 0.2.0
description:
  - The first time the cluster sees a namespace, makes a random identity (a UUID) for it and keeps it in the
    swarm as a Swarm config named C(<label_prefix>-ns-<name>), labelled with the namespace and the identity.
  - The identity is what the namespace's marker file on every node holds. A namespace whose marker is missing
    or carries another identity (an unmounted disk, a host reinstalled under the same name) is refused by the
    replication engines instead of being propagated as deletes.
  - An existing identity is never replaced. A config of that name that the collection did not make is an
    error. O(state=absent) removes the identities of the named namespaces (use it only when retiring them).
  - Nothing secret, since the identity only tells copies of a namespace apart.
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.ATTRIBUTES
options:
  names:
    description: Namespace names (each matches C([a-z0-9][a-z0-9_-]*), at most 63 characters).
    type: list
    elements: str
    required: true
  found:
    description:
      - Per namespace, the identities the nodes' markers hold already (the C(found) that
        M(swarmdata.replication.node_dirs) returns).
      - For a namespace the cluster has no identity for, one identity found is adopted (a swarm formed anew, e.g.
        after its only manager was reinstalled, keeps the identity its copies carry, so an empty copy stays
        refused); two different ones fail, naming them; none makes a new one.
    type: dict
    default: {}
  state:
    description:
      - Whether the identities exist. V(query) only reads (null for a namespace the cluster does not know).
    type: str
    choices: [present, absent, query]
    default: present
"""

EXAMPLES = r"""
- name: Identities of the namespaces, made where missing
  swarmdata.replication.namespace_ids:
    names: [wiki, db]
  register: ns_ids

- name: Show them
  ansible.builtin.debug:
    msg: "wiki is {{ ns_ids.ids.wiki }}; new this run: {{ ns_ids.created }}"
"""

RETURN = r"""
ids:
  description: Identity of each named namespace (null in check mode for one the cluster does not know yet).
  returned: always
  type: dict
  sample: {"wiki": "8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11"}
adopted:
  description: Namespaces whose identity was taken from the markers the nodes hold (no marker is written for them).
  returned: always
  type: list
  elements: str
  sample: []
created:
  description: Namespaces the cluster did not know before this run, given a new identity (markers are written now).
  returned: always
  type: list
  elements: str
  sample: [wiki]
"""

import traceback
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    APIError,
    docker_client,
    find_by_name,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import (
    TopologyError,
    namespace_config_name,
    validate_namespace_name,
)


class NamespaceIds(object):
    def __init__(self, module):
        self.module = module
        self.prefix = module.params["label_prefix"].rstrip(".")
        self.label_namespace = self.prefix + ".namespace"
        self.label_id = self.prefix + ".namespace-id"

    def adoptable(self, name, found):
        """The one identity the nodes' markers hold for ``name``, or None; fails on two different ones."""
        if isinstance(found, str):
            found = [found]
        distinct = sorted(set(str(f).strip() for f in found if f))
        if len(distinct) > 1:
            self.module.fail_json(
                msg="the nodes hold %d different identities for namespace %r (%s) and the cluster has none: copies "
                    "from different clusters? Nothing was changed. Keep the copy you want, remove the other copies' "
                    "marker files, and run again" % (len(distinct), name, ", ".join(distinct)))
        if distinct:
            try:
                uuid.UUID(distinct[0])
            except ValueError:
                self.module.fail_json(msg="a node's marker for namespace %r holds %r, not an identity; nothing was "
                                          "changed. Remove that marker file and run again" % (name, distinct[0][:64]))
            return distinct[0]
        return None

    def run(self):
        params = self.module.params
        try:
            names = [validate_namespace_name(n, "names") for n in params["names"]]
        except TopologyError as exc:
            self.module.fail_json(msg=str(exc))
        client = docker_client(self.module)
        require_swarm_manager(self.module, client)
        changed = False
        ids, created, adopted = {}, [], []
        before, after = {}, {}
        for name in names:
            config_name = namespace_config_name(self.prefix, name)
            config = find_by_name(client.configs, config_name)
            labels = (config.attrs.get("Spec", {}).get("Labels") or {}) if config else {}
            if config is not None and (labels.get(self.label_namespace) != name or not labels.get(self.label_id)):
                self.module.fail_json(
                    msg="Swarm config %r exists but was not made by this collection for namespace %r (labels %s "
                        "and %s); remove it or choose another replication_label_prefix"
                        % (config_name, name, self.label_namespace, self.label_id))
            before[name] = labels.get(self.label_id)
            if params["state"] == "absent":
                after[name] = None
                if config is not None:
                    changed = True
                    if not self.module.check_mode:
                        config.remove()
                continue
            if config is not None:
                ids[name] = after[name] = labels[self.label_id]
                continue
            if params["state"] == "query":
                ids[name] = after[name] = None
                continue
            ident = self.adoptable(name, params["found"].get(name) or [])
            changed = True
            (adopted if ident else created).append(name)
            if self.module.check_mode:
                ids[name] = after[name] = ident
                continue
            ident = ident or str(uuid.uuid4())
            try:
                client.configs.create(name=config_name, data=(ident + "\n").encode("ascii"),
                                      labels={self.label_namespace: name, self.label_id: ident})
            except APIError as exc:
                self.module.fail_json(msg="cannot create Swarm config %r: %s" % (config_name, exc),
                                      exception=traceback.format_exc())
            ids[name] = after[name] = ident
        result = dict(changed=changed, ids=ids, created=created, adopted=adopted)
        if self.module._diff:
            result["diff"] = {"before": before, "after": after}
        return result


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        names=dict(type="list", elements="str", required=True),
        found=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent", "query"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**NamespaceIds(module).run())


if __name__ == "__main__":
    main()
