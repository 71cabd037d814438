#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: swarm_ssh_keys
author: swarmdata.replication maintainers (@swarmdata)
short_description: Keep SSH keypairs (the mover key, host keys) in the cluster as Swarm secrets
version_added: 0.1.0
description:
  - Ensures each named ed25519 keypair exists as a Swarm secret holding the private key. The key is made
    in memory on the manager and goes straight into the secret; it is never written to a disk, never sent
    to the controller and never part of the module's arguments or result.
  - The public key and its fingerprint are kept as labels of the secret, where any manager can read them,
    so a second controller with an empty working directory finds the same keys and changes nothing.
    This is what lets AWX, which throws its controller away after each job, run the playbooks again.
  - A secret of that name that the collection did not make (no public-key label) is an error, never overwritten.
  - Swarm secrets cannot be changed in place; O(state=absent) removes them (a service still using one
    keeps it until it is removed).
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.ATTRIBUTES
options:
  keys:
    description: The keypairs.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Swarm secret name (at most 64 characters of C([A-Za-z0-9_.-])).
        type: str
        required: true
      comment:
        description: Comment appended to the public key.
        type: str
        default: ""
  state:
    description: Whether the secrets exist.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - C(cryptography) on the managed host (Debian package C(python3-cryptography)).
"""

EXAMPLES = r"""
- name: The mover key and a host key per replica, kept in the swarm
  swarmdata.replication.swarm_ssh_keys:
    keys:
      - name: swarmdata-mover-key
        comment: swarmdata mover
      - name: swarmdata-hostkey-node2
  register: keys

- name: Pin the replica's host key
  ansible.builtin.debug:
    msg: "node2 {{ keys.keys['swarmdata-hostkey-node2'].public_key }}"
"""

RETURN = r"""
keys:
  description: Public parts of each key, by secret name. No private key material is ever returned.
  returned: always
  type: dict
  contains:
    public_key:
      description: The OpenSSH public key line (null in check mode for a key that does not exist yet).
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... swarmdata mover
    fingerprint:
      description: SHA256 fingerprint of the public key, as C(ssh-keygen -l) prints it.
      type: str
      sample: SHA256:2TKSd0C1JbFTnZ4xYn1m6z3Q6pGnY7l3GxqQ0oD9p9A
    secret_id:
      description: The Swarm secret ID.
      type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    APIError,
    docker_client,
    find_secret,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._sshkeys import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    fingerprint,
    generate_ed25519,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import SECRET_NAME_RE


class SwarmSshKeys(object):
    def __init__(self, module):
        self.module = module
        self.prefix = module.params["label_prefix"].rstrip(".")
        self.label_public = self.prefix + ".public_key"
        self.label_fingerprint = self.prefix + ".fingerprint"
        self.label_kind = self.prefix + ".kind"

    def run(self):
        params = self.module.params
        names = [key["name"] for key in params["keys"]]
        for i, key in enumerate(params["keys"]):
            name = key["name"]
            if names.count(name) > 1:
                self.module.fail_json(msg="keys[%d].name %r is listed more than once" % (i, name))
            if not name or len(name) > 64 or SECRET_NAME_RE.search(name):
                self.module.fail_json(msg="keys[%d].name %r must be 1-64 characters of [A-Za-z0-9_.-]" % (i, name))
        if params["state"] == "present" and not HAS_CRYPTOGRAPHY:
            self.module.fail_json(msg=missing_required_lib("cryptography (Debian: python3-cryptography)"),
                                  exception=CRYPTOGRAPHY_IMPORT_ERROR)
        client = docker_client(self.module)
        require_swarm_manager(self.module, client)
        changed = False
        keys = {}
        before, after = {}, {}
        for key in params["keys"]:
            name = key["name"]
            secret = find_secret(client, name)
            labels = (secret.attrs.get("Spec", {}).get("Labels") or {}) if secret else {}
            if secret is not None and self.label_public not in labels:
                self.module.fail_json(
                    msg="Swarm secret %r exists but was not made by this collection (it has no %s label); "
                        "remove it or choose another name" % (name, self.label_public))
            before[name] = "present" if secret else "absent"
            if params["state"] == "absent":
                after[name] = "absent"
                if secret is not None:
                    changed = True
                    if not self.module.check_mode:
                        secret.remove()
                continue
            after[name] = "present"
            if secret is not None:
                keys[name] = {"public_key": labels[self.label_public],
                              "fingerprint": labels.get(self.label_fingerprint), "secret_id": secret.id}
                continue
            changed = True
            if self.module.check_mode:
                keys[name] = {"public_key": None, "fingerprint": None, "secret_id": None}
                continue
            private, public = generate_ed25519(key["comment"])
            try:
                created = client.secrets.create(name=name, data=private, labels={
                    self.label_public: public,
                    self.label_fingerprint: fingerprint(public),
                    self.label_kind: "ssh-ed25519",
                })
            except APIError as exc:
                # The exception text is the engine's; it never carries the data we sent.
                self.module.fail_json(msg="cannot create Swarm secret %r: %s" % (name, exc),
                                      exception=traceback.format_exc())
            finally:
                del private
            keys[name] = {"public_key": public, "fingerprint": fingerprint(public), "secret_id": created.id}
        result = dict(changed=changed, keys=keys)
        if self.module._diff:
            result["diff"] = {"before": before, "after": after}
        return result


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        keys=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
            name=dict(type="str", required=True),
            comment=dict(type="str", default=""),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**SwarmSshKeys(module).run())


if __name__ == "__main__":
    main()
