"""The AWX execution environment definition, with ansible-builder itself: `ansible-builder create` makes a build
context that installs what the playbooks need, and builder's own introspection, run on the built and installed
collection, finds the collection's Python and system requirements (meta/execution-environment.yml). Building the
image is left to the user: its base image comes from a registry."""

import glob
import os
import re
import subprocess

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
# A task's module (a key with its arguments below) or a role included by its full name.
FQCN = re.compile(r"^\s+(?:- )?(?:name: )?([a-z_]+)\.([a-z_]+)\.[a-z_0-9]+:?\s*$", re.M)


def run(*cmd, cwd=ROOT):
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def lines(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def test_builder_context_installs_every_collection_and_package_the_playbooks_use(tmp_path):
    run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(tmp_path / "ctx"))
    build = tmp_path / "ctx" / "_build"
    with open(glob.glob(str(tmp_path / "ctx" / "*file"))[0]) as handle:
        containerfile = handle.read()
    assert "quay.io/ansible/awx-ee" in containerfile and "ansible-core==" in containerfile
    with open(build / "requirements.yml") as handle:
        listed = {c["name"] for c in yaml.safe_load(handle)["collections"]}
    # Every collection a role, playbook or module here calls by its full name is in the EE.
    used = set()
    for pattern in ("roles/**/*.yml", "playbooks/*.yml", "site.yml"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            with open(path) as handle:
                used |= {"%s.%s" % m for m in FQCN.findall(handle.read())}
    used -= {"ansible.builtin", "swarmdata.replication"}
    assert used and used <= listed, used - listed
    assert {"docker>=7.0.0", "cryptography>=41.0.0", "jmespath>=1.0.0"} <= set(lines(build / "requirements.txt"))
    assert "openssh-clients [platform:rpm]" in lines(build / "bindep.txt")


def readme_install(home, cwd):
    """README's two commands (section "Pointing it at real hosts"), with HOME and the build directory in tmp."""
    build = os.path.join(home, "build")
    env = dict(os.environ, HOME=home)
    for cmd in (["ansible-galaxy", "collection", "build", "--output-path", build, ROOT],
                ["ansible-galaxy", "collection", "install", "--force", "-p", "~/.ansible/collections", "TARBALL"]):
        cmd = [glob.glob(os.path.join(build, "swarmdata-replication-*.tar.gz"))[0] if a == "TARBALL" else a
               for a in cmd]
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)
        assert proc.returncode == 0 and "Nothing to do" not in proc.stdout, proc.stdout + proc.stderr
    installed = os.path.join(home, ".ansible", "collections", "ansible_collections", "swarmdata", "replication")
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json")) and os.path.isdir(os.path.join(installed, "roles"))
    return os.path.join(home, ".ansible", "collections")


def test_readmes_install_commands_work_inside_the_checkout_and_outside(tmp_path):
    for where, cwd in (("inside", ROOT), ("outside", str(tmp_path))):
        (tmp_path / where).mkdir()
        readme_install(str(tmp_path / where), cwd)


def test_builder_introspection_finds_the_installed_collections_requirements(tmp_path):
    run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), ROOT)
    tarball = glob.glob(str(tmp_path / "swarmdata-replication-*.tar.gz"))[0]
    run("ansible-galaxy", "collection", "install", "--no-deps", "-p", str(tmp_path / "cols"), tarball, cwd=tmp_path)
    run("ansible-builder", "create", "-f", os.path.join(ROOT, "execution-environment.yml"), "-c", str(tmp_path / "ctx"))
    out = run("python3", str(tmp_path / "ctx" / "_build" / "scripts" / "introspect.py"), "introspect",
              str(tmp_path / "cols"), cwd=tmp_path)
    found = yaml.safe_load(out)
    for kind, source in (("python", "ee-requirements.txt"), ("system", "ee-bindep.txt")):
        ours = [r for r in found[kind] if r.endswith("# from collection swarmdata.replication")]
        mine = [r.split("  # from collection ")[0] for r in ours]
        assert mine == lines(os.path.join(ROOT, "meta", source)), found
