#!/usr/bin/env bash
# The test command: linters, unit tests, ansible-test sanity, and every Molecule scenario on a real
# multi-node lab swarm. Sets itself up first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

step() { printf '\n=== %s\n' "$*"; }

step "ruff"
ruff check plugins tests molecule roles scripts
step "yamllint"
yamllint -s .
step "ansible-lint (profile production)"
ansible-lint
step "unit tests"
pytest tests/unit -q
step "integration tests (real Docker)"
pytest tests/integration -q

step "ansible-test sanity"
# ansible-test bootstraps pip in its venvs with a script from its own CI host, which is not reachable
# here; put our PyPI-based stand-in where it looks for a cached copy of that script.
pip_version=$(python -c "import re, ansible_test._internal.python_requirements as m, inspect; \
print(re.search(r\"pip='([0-9.]+)'\", inspect.getsource(m)).group(1))")
mkdir -p ~/.ansible/test/cache
cp tests/sanity/get_pip_offline.py ~/.ansible/test/cache/get_pip_${pip_version//./_}.py
sanity_root=$(mktemp -d)
trap 'rm -rf "$sanity_root"' EXIT
mkdir -p "$sanity_root/ansible_collections/swarmdata"
rsync -a --exclude collections --exclude .git --exclude .venv --exclude .cache --exclude tests/output ./ \
  "$sanity_root/ansible_collections/swarmdata/replication/"
(cd "$sanity_root/ansible_collections/swarmdata/replication" && ansible-test sanity --venv --python 3.11)

step "collection build, install into an empty path, playbook by FQCN"
build_dir=$(mktemp -d)
ansible-galaxy collection build --output-path "$build_dir" .
ansible-galaxy collection install --force --no-deps -p "$build_dir/collections" "$build_dir"/swarmdata-replication-*.tar.gz
(cd "$build_dir" && ANSIBLE_COLLECTIONS_PATH="$build_dir/collections" \
  ansible-playbook -i localhost, swarmdata.replication.site --syntax-check)
ANSIBLE_COLLECTIONS_PATH="$build_dir/collections" ansible-doc swarmdata.replication.node_dirs >/dev/null
rm -rf "$build_dir"

step "molecule (all scenarios)"
molecule test --all
