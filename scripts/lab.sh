#!/usr/bin/env bash
# The main job: a local multi-node lab swarm (default 3 nodes) prepared for replication with the
# default variant. Run it again: the second site.yml run reports changed=0.
#   scripts/lab.sh             # up (extra args go to ansible-playbook site.yml and check_replication.yml)
#   scripts/lab.sh -e replication_variant=glusterfs   # the same lab with another variant
#   scripts/lab.sh --destroy   # remove every lab container, network and volume
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
if [ "${1:-}" = "--destroy" ]; then
  exec ansible-playbook playbooks/lab.yml -e lab_state=absent
fi
ansible-playbook playbooks/lab.yml
ansible-playbook -i inventories/lab/hosts.yml site.yml "$@"
# A small application on top: an HTTP notes service writing into the first namespace (roles/demo).
ansible-playbook -i inventories/lab/hosts.yml playbooks/demo.yml "$@"
# Show replication working: a file written on the primary appears on every replica, and its delete too; then a
# note written through the demo application arrives on every node with the same checksum.
ansible-playbook -i inventories/lab/hosts.yml playbooks/check_replication.yml -e check_through_app=true "$@"
