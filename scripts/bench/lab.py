"""Lab access: every process the bench starts (``docker exec`` into the lab nodes, the one ``ansible`` call
that reads the plan), the jobs and pollers run inside the nodes, and the plan itself."""

import json
import os
import shlex
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MIB = 1024 * 1024


def _source(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


POLLER = _source("node_poller.py")  # run inside each reader node for the whole run
JOB = _source("node_job.py")  # one step on one node


class BenchError(Exception):
    """The lab is not as expected, or a step failed: reported, the run goes on with the next phase."""


class PhaseTimeout(BenchError):
    """A wait ran out; the message says which reader missed what."""


# ------------------------------------------------------------------ processes
_children = set()
_children_lock = threading.Lock()


def spawn(argv, **kwargs):
    """Start a child in its own session: a terminal's Ctrl-C reaches the bench, which then cleans up."""
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    with _children_lock:
        _children.add(proc)
    return proc


def forget(proc):
    with _children_lock:
        _children.discard(proc)


def kill_children():
    with _children_lock:
        procs = list(_children)
    for proc in procs:
        for stream in (proc.stdin,):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        forget(proc)


def run(argv, timeout=120, check=True, input_text=None):
    proc = spawn(argv, stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError("timed out after %ds: %s" % (timeout, shlex.join(argv[:6]))) from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        forget(proc)
    if check and proc.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (shlex.join(argv[:8]), proc.returncode, err.strip()[-800:]))
    return out


def dx(node, argv, timeout=120, check=True, input_text=None):
    """docker exec on a lab node."""
    flags = ["-i"] if input_text is not None else []
    return run(["docker", "exec"] + flags + [node] + list(argv), timeout, check, input_text)


def dx_ok(node, argv, timeout=60):
    """docker exec on a lab node: did the command succeed?"""
    try:
        dx(node, argv, timeout=timeout)
    except BenchError:
        return False
    return True


def run_job(node, cfg, timeout):
    """Run one JOB op on a node; returns its result dict."""
    proc = spawn(["docker", "exec", "-i", node, "python3", "-c", JOB], stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [], []
    readers = [threading.Thread(target=lambda s=s, b=b: b.append(s.read()), daemon=True)
               for s, b in ((proc.stdout, out), (proc.stderr, err))]
    for thread in readers:
        thread.start()
    try:
        proc.stdin.write((json.dumps(cfg) + "\n").encode())
        proc.stdin.flush()
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("job %s on %s timed out after %ds" % (cfg["op"], node, timeout)) from None
    except BrokenPipeError:
        proc.wait(30)
    finally:
        try:
            proc.stdin.close()  # EOF: the job's watchdog ends it if it still runs
        except OSError:
            pass
        if proc.poll() is None:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for thread in readers:
            thread.join(10)
        forget(proc)
    stdout = b"".join(out).decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError("job %s on %s failed (exit %d): %s" % (
            cfg["op"], node, proc.returncode, b"".join(err).decode(errors="replace").strip()[-1500:]))
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise BenchError("job %s on %s printed no result" % (cfg["op"], node))


def parallel(calls):
    """Run callables at once; returns their results in order, re-raising the first error."""
    results = [None] * len(calls)
    errors = [None] * len(calls)

    def one(i, fn):
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: B036 - handed back to the caller
            errors[i] = exc

    threads = [threading.Thread(target=one, args=(i, fn), daemon=True) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results


class Poller:
    """The long-lived poller on one reader node (see POLLER)."""

    def __init__(self, node, root):
        self.node = node
        self.cond = threading.Condition()
        self.seen = {}       # "F:rel" / "C:rel" / "G:rel" -> time.time() on the reader
        self.counted = {}
        self.acks = set()
        self.report = []
        self.ready = False
        self.exited = False
        self.errors = []
        self.proc = spawn(["docker", "exec", "-i", node, "python3", "-u", "-c", POLLER, root],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          bufsize=1)
        threading.Thread(target=self._stdout, daemon=True).start()
        threading.Thread(target=self._stderr, daemon=True).start()
        with self.cond:
            if not self.cond.wait_for(lambda: self.ready or self.exited, 60) or not self.ready:
                raise BenchError("poller on %s did not start: %s" % (node, " ".join(self.errors)[-800:]))

    def _stdout(self):
        for line in self.proc.stdout:
            parts = line.split()
            if not parts:
                continue
            with self.cond:
                kind = parts[0]
                if kind in ("F", "C", "G"):
                    self.seen["%s:%s" % (kind, parts[1])] = float(parts[2])
                    if kind == "C":
                        self.counted[parts[1]] = int(parts[3])
                elif kind in ("S", "R"):
                    self.acks.add(parts[1])
                elif kind == "P":
                    self.report.append(line[2:].strip())
                elif kind == "READY":
                    self.ready = True
                self.cond.notify_all()
        with self.cond:
            self.exited = True
            self.cond.notify_all()

    def _stderr(self):
        for line in self.proc.stderr:
            self.errors.append(line.rstrip())
            del self.errors[:-20]

    def send(self, lines):
        if self.exited:
            raise BenchError("poller on %s exited: %s" % (self.node, " ".join(self.errors)[-800:]))
        try:
            self.proc.stdin.write("".join(line + "\n" for line in lines))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise BenchError("poller on %s is gone: %s" % (self.node, exc)) from None

    def _roundtrip(self, op, timeout=60):
        token = os.urandom(6).hex()
        self.send(["%s %s" % (op, token)])
        with self.cond:
            if not self.cond.wait_for(lambda: token in self.acks or self.exited, timeout) or token not in self.acks:
                raise BenchError("poller on %s does not answer" % self.node)

    def barrier(self):
        self._roundtrip("S")

    def pending(self):
        with self.cond:
            self.report = []
        self._roundtrip("R")
        with self.cond:
            return list(self.report)

    def close(self):
        try:
            self.send(["Q"])
            self.proc.stdin.close()
        except (BenchError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        forget(self.proc)


# ------------------------------------------------------------------ the plan
# What the bench needs from the inventory comes from plan.yml beside this file: the collection's own topology
# lookup (the plan the playbooks deploy from), the variant roles' stack names and each host's container.
PLAN_PLAYBOOK = os.path.join(HERE, "plan.yml")


def ansible_playbook():
    """The ansible-playbook beside the Python running the bench (the venv's), else the one on the PATH."""
    exe = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "ansible-playbook")
    return exe if os.path.exists(exe) else "ansible-playbook"


def run_playbook(argv, env, timeout, what, merge_stderr=False):
    """Run ``ansible-playbook ARGV`` from this checkout with this checkout's ansible.cfg and ``env`` over the
    environment; (exit code, stdout, stderr). A timeout kills it and is a BenchError naming ``what``; Ctrl-C or
    SIGTERM kills it too (it runs in its own session, so nothing else would) before going on."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", **env)
    proc = spawn([ansible_playbook()] + argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError("%s timed out after %ds" % (what, timeout)) from None
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    finally:
        forget(proc)
    return proc.returncode, out, err or ""


def playbook_json(inventory, playbook, extra, timeout, what):
    """Run ``playbook`` against ``inventory`` with ``extra`` vars and Ansible's JSON callback, from this checkout's
    ansible.cfg; (exit code, stdout, stderr). ``what`` names it in a timeout's message."""
    return run_playbook(["-i", os.path.abspath(inventory), "-e", json.dumps(extra), playbook],
                        {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
                        timeout, what)


def load_plan(inventory, variant, timeout=120):
    """The plan for ``inventory`` with ``replication_variant`` set to ``variant`` (as ``site.yml -e`` does), as
    ``lookup('swarmdata.replication.topology')`` gives it to the playbooks, plus ``stacks`` (stack name per
    variant) and ``containers`` (inventory host -> lab container: its ``ansible_host`` under the docker
    connection, else its name)."""
    if not os.path.isfile(inventory):
        raise BenchError("inventory %s not found (--inventory; scripts/lab.sh writes inventories/lab/hosts.yml)"
                         % inventory)
    rc, out, err = playbook_json(inventory, PLAN_PLAYBOOK, {"replication_variant": variant}, timeout,
                                 "reading the plan")
    try:
        result = json.loads(out)["plays"][0]["tasks"][-1]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise BenchError("could not read the plan from %s (exit %d): %s" % (
            inventory, rc, (err or out).strip()[-800:])) from None
    if result.get("failed"):
        raise BenchError("the plan for %s: %s" % (inventory, result.get("msg")))
    msg = json.loads(result["msg"])
    plan = msg["plan"]
    plan["stacks"] = msg["stacks"]
    plan["containers"] = msg["containers"]
    return plan


def namespace_path(plan, name):
    for ns in plan["namespaces"]:
        if ns["name"] == name:
            return ns["path"]
    raise BenchError("namespace %s is not in the plan (replication_namespaces: %s)" % (
        name, ", ".join(ns["name"] for ns in plan["namespaces"]) or "none"))


# ------------------------------------------------------------------ labs the bench makes itself
# --variant all and --lab-nodes: the bench makes its own lab (lab_name swarmdata-bench, never README's lab), one per
# variant and node count in turn, from the collection's lab playbook and site.yml, and removes it at the end.
BENCH_LAB = "swarmdata-bench"


def _ansible(argv, timeout, what):
    rc, out, _err = run_playbook(argv, {"ANSIBLE_FORCE_COLOR": "0"}, timeout, what, merge_stderr=True)
    if rc != 0:
        raise BenchError("%s failed (exit %d): %s" % (what, rc, out[-1500:]))
    return out


def destroy_lab(timeout=900):
    # lab_inventory_path empty: the lab role then leaves every inventory file alone (README's lab's among them).
    _ansible([os.path.join(REPO, "playbooks", "lab.yml"), "-e", "lab_state=absent", "-e", "lab_name=" + BENCH_LAB,
              "-e", "lab_inventory_path="], timeout, "removing the bench's lab")


def build_lab(workdir, variant, nodes, timeout=1800):
    """A fresh lab of ``nodes`` nodes with ``variant`` deployed, as scripts/lab.sh makes README's: the lab playbook,
    then site.yml. Its inventory is ``workdir/hosts.yml`` beside a copy of README's lab settings with this lab's
    primary and variant. Returns (inventory path, seconds the first site.yml took)."""
    import yaml  # from the venv (ansible-core's own dependency)

    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all.yml")) as handle:
        settings = yaml.safe_load(handle)
    settings.update(replication_primary="%s-1" % BENCH_LAB, replication_variant=variant)
    os.makedirs(os.path.join(workdir, "group_vars"), exist_ok=True)
    with open(os.path.join(workdir, "group_vars", "all.yml"), "w") as handle:
        yaml.safe_dump(settings, handle)
    inventory = os.path.join(workdir, "hosts.yml")
    destroy_lab()
    _ansible([os.path.join(REPO, "playbooks", "lab.yml"), "-e", "lab_name=" + BENCH_LAB, "-e", "lab_nodes=%d" % nodes,
              "-e", "lab_inventory_path=" + inventory], timeout, "making the bench's lab of %d nodes" % nodes)
    started = time.monotonic()
    _ansible(["-i", inventory, os.path.join(REPO, "site.yml")], timeout, "site.yml (%s, %d nodes)" % (variant, nodes))
    return inventory, time.monotonic() - started
