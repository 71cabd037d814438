"""Phase 4: the site.yml re-run on a converged lab (changed=0), against a baseline commit in the same process.

Each round runs ``ansible-playbook site.yml`` once from this checkout and, with ``--rerun-baseline REF``, once
from a detached git worktree of REF (its own ``collections/`` link, so its plugins and roles), alternately, so
both see the same machine load. Every run must report changed=0 on every host; a run that changes something or
fails ends the phase with an error. The worktree is removed at the end.
"""

import os
import re
import subprocess
import tempfile
import time

from bench.core import stats
from bench.lab import REPO, BenchError, ansible_playbook, run

RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def site_run(checkout, inventory, timeout):
    """Seconds one site.yml run from `checkout` takes; fails unless every host reports changed=0."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(checkout, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    started = time.monotonic()
    proc = subprocess.run([ansible_playbook(), "-i", inventory, os.path.join(checkout, "site.yml")], cwd=checkout,
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)
    took = time.monotonic() - started
    recap = RECAP.findall(proc.stdout)
    if proc.returncode != 0 or not recap:
        raise BenchError("site.yml from %s failed (exit %d): %s" % (checkout, proc.returncode, proc.stdout[-800:]))
    changed = [host for host, ch, unreachable, failed in recap if ch != "0" or unreachable != "0" or failed != "0"]
    if changed:
        raise BenchError("site.yml from %s is not a re-run: changed or failed on %s" % (checkout, ", ".join(changed)))
    return took, len(recap) - 1


def phase_rerun(bench, writer_node, reader_nodes, namespace_path):
    opts = bench.opts
    inventory = os.path.abspath(opts.inventory)
    checkouts = [("this checkout", REPO)]
    worktree = None
    if opts.rerun_baseline:
        worktree = tempfile.mkdtemp(prefix="swarmdata-bench-base-")
        os.rmdir(worktree)
        run(["git", "-C", REPO, "worktree", "add", "--detach", worktree, opts.rerun_baseline], timeout=120)
        bench.on_cleanup("baseline worktree %s removed" % worktree,
                         lambda: run(["git", "-C", REPO, "worktree", "remove", "--force", worktree], timeout=120))
        checkouts.append(("baseline %s" % opts.rerun_baseline, worktree))
    times = dict((checkout[0], []) for checkout in checkouts)
    hosts = 0
    for round_no in range(1, opts.rerun + 1):
        # Alternate which goes first, so neither always runs right after the other.
        for name, checkout in (checkouts if round_no % 2 else list(reversed(checkouts))):
            took, hosts = site_run(checkout, inventory, opts.timeout)
            times[name].append(took)
            bench.log("round %d, %s: %.1f s, changed=0 on %d hosts" % (round_no, name, took, hosts))
    result = {"hosts": hosts, "runs": opts.rerun, "this": stats(times["this checkout"])}
    print("  site.yml re-run, %d hosts, %d runs: p50 %.1f s  p95 %.1f s  (min %.1f s)" % (
        hosts, opts.rerun, result["this"]["p50"], result["this"]["p95"], result["this"]["min"]))
    if worktree:
        base = stats(times["baseline %s" % opts.rerun_baseline])
        result.update(baseline=base, baseline_ref=opts.rerun_baseline, ratio=result["this"]["p50"] / base["p50"])
        print("  baseline %s, same rounds:        p50 %.1f s  p95 %.1f s  (min %.1f s); ratio of p50s %.2f" % (
            opts.rerun_baseline, base["p50"], base["p95"], base["min"], result["ratio"]))
    return result
