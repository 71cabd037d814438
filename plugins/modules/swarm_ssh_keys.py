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
  - A secret of that name that the collection did not make (no C(<prefix>.kind=ssh-ed25519) and public-key
    labels) is an error, never overwritten or removed.
  - Swarm secrets cannot be changed in place; O(rotate=true) replaces them, O(state=absent) removes them.
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
  rotate:
    description:
      - Replace each listed key that exists with a new one. Swarm secrets are immutable, so the old secret is
        removed and a new one made under the same name; the engine refuses while a service uses it. Remove
        the stack that uses the key first and deploy it again after.
      - Only with O(state=present).
    type: bool
    default: false
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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    docker_client,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._secrets import Kind, SecretStore, name_error
from ansible_collections.swarmdata.replication.plugins.module_utils._sshkeys import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    fingerprint,
    generate_ed25519,
)

# Every key this module made carries its public key; the earliest ones had no kind label.
SSH_KEY = Kind("ssh-ed25519", required=["public_key"], legacy=["public_key"])


def make_key(comment):
    private, public = generate_ed25519(comment)
    return private, {"public_key": public, "fingerprint": fingerprint(public)}


def run(module):
    params = module.params
    error = name_error([("keys[%d].name" % i, key["name"]) for i, key in enumerate(params["keys"])])
    if error:
        module.fail_json(msg=error)
    if params["state"] == "present" and not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography (Debian: python3-cryptography)"),
                         exception=CRYPTOGRAPHY_IMPORT_ERROR)
    client = docker_client(module)
    require_swarm_manager(module, client)
    store = SecretStore(module, client, params["label_prefix"])
    keys = {}
    for key in params["keys"]:
        if params["state"] == "absent":
            store.remove(key["name"], SSH_KEY)
            continue
        secret_id, labels = store.ensure(key["name"], SSH_KEY, lambda c=key["comment"]: make_key(c),
                                         rotate=params["rotate"])
        labels = labels or {}
        keys[key["name"]] = {"public_key": labels.get(store.label("public_key")),
                             "fingerprint": labels.get(store.label("fingerprint")), "secret_id": secret_id}
    return store.result(keys=keys)


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        keys=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
            name=dict(type="str", required=True),
            comment=dict(type="str", default=""),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        rotate=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
