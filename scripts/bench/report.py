"""The summary table: after a run, and (--table) over the JSON files of earlier runs side by side."""

import json
import subprocess

from bench.core import fmt_mib
from bench.lab import REPO


def git_commit():
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _seconds(value):
    return "%.2f" % value if isinstance(value, (int, float)) else "not measured"


def summary(meta, results):
    rows = []
    for variant, res in results.items():
        if "error" in res.get("lab", {}):
            rows.append((variant, "lab", "FAILED"))
        lat = res.get("latency", {})
        if "all_readers" in lat:
            s = lat["all_readers"]
            rows.append((variant, "latency p50 / p95 / max / mean (s), %d writes" % lat["writes"],
                         "%.3f / %.3f / %.3f / %.3f" % (s["p50"], s["p95"], s["max"], s["mean"])))
        elif "error" in lat:
            rows.append((variant, "latency", "FAILED"))
        bulk = res.get("bulk", {})
        if "replication" in bulk:
            rep = bulk["replication"]
            name = "bulk %s: replication to %d readers (s)" % (fmt_mib(bulk["bytes"]), len(rep["per_reader_s"]))
            rows.append((variant, name, "%.2f" % rep["seconds"]))
            rows.append((variant, "bulk replication MiB/s per reader / aggregate",
                         "%.1f / %.1f" % (rep["mib_s_per_reader"], rep["mib_s_aggregate"])))
        if "mib_s" in bulk.get("baseline", {}):
            rows.append((variant, "bulk baseline rsync -a over ssh, 1 reader (s, MiB/s)",
                         "%.2f, %.1f" % (bulk["baseline"]["seconds"], bulk["baseline"]["mib_s"])))
        if "ratio_per_reader" in bulk:
            rows.append((variant, "bulk ratio replication/baseline, per reader / aggregate",
                         "%.2f / %.2f" % (bulk["ratio_per_reader"], bulk["ratio_aggregate"])))
        if "ratio_parallel" in bulk:
            rows.append((variant, "bulk ratio replication/bare rsync to every reader at once (%.2f s)"
                         % bulk["baseline_parallel"]["seconds"], "%.2f" % bulk["ratio_parallel"]))
        if "delete_s" in bulk:
            rows.append((variant, "bulk: delete of the tree on all readers (s)", _seconds(bulk["delete_s"])))
        if "error" in bulk or "error" in bulk.get("baseline", {}):
            rows.append((variant, "bulk", "FAILED" if "error" in bulk else "baseline FAILED"))
        tree = res.get("tree", {})
        if "initial_s" in tree:
            rows.append((variant, "tree of %d files: initial replication (s)" % tree["files"],
                         "%.1f" % tree["initial_s"]))
            base = tree.get("baseline", {})
            if "ratio" in base:
                rows.append((variant, "tree: bare rsync to every reader at once (s); ratio replication / "
                             "(writing + that rsync)", "%.1f; %.2f" % (base["seconds"], base["ratio"])))
        if "change_s" in tree:
            rows.append((variant, "tree: %d changed files on all readers (s)" % tree["changed_files"],
                         "%.2f" % tree["change_s"]))
        elif "error" in tree:
            rows.append((variant, "tree", "FAILED"))
        if "delete_s" in tree:
            rows.append((variant, "tree: delete of the tree on all readers (s)", _seconds(tree["delete_s"])))
        rerun = res.get("rerun", {})
        if "this" in rerun:
            rows.append((variant, "site.yml re-run, %d hosts, %d runs: p50 / p95 (s)" % (rerun["hosts"], rerun["runs"]),
                         "%.1f / %.1f" % (rerun["this"]["p50"], rerun["this"]["p95"])))
        if "baseline" in rerun:
            rows.append((variant, "site.yml re-run of %s, same rounds: p50 / p95 (s), ratio" % rerun["baseline_ref"],
                         "%.1f / %.1f, %.2f" % (rerun["baseline"]["p50"], rerun["baseline"]["p95"], rerun["ratio"])))
        elif "error" in rerun:
            rows.append((variant, "site.yml re-run", "FAILED"))
        backup = res.get("backup", {})
        for key, what in (("new_data", "backup.yml, first of %s" % fmt_mib(backup.get("new_data", {}).get("bytes", 0))),
                          ("incremental", "backup.yml, 10 files changed")):
            if key in backup:
                rows.append((variant, "%s: playbook / runner (s)" % what, "%.2f / %.2f" % (
                    backup[key]["playbook_s"], backup[key]["report"].get("seconds", 0))))
        if "restore" in backup:
            r = backup["restore"]
            rows.append((variant, "restore.yml, %s: playbook / runner / then on every node (s)" % fmt_mib(r["bytes"]),
                         "%.2f / %.2f / %.2f" % (r["playbook_s"], r["seconds"] or 0, r["replicated_s"])))
        elif "error" in backup:
            rows.append((variant, "backup", "FAILED"))
    width = max([len(r[1]) for r in rows] + [6])
    first = max([len(r[0]) for r in rows] + [9])
    nodes = " %d swarm nodes," % meta["swarm_nodes"] if "swarm_nodes" in meta else ""
    print("== summary (%s,%s %s)" % (meta.get("date"), nodes, meta.get("commit")))
    print("  %-*s %-*s  %s" % (first, "variant", width, "figure", "value"))
    for variant, name, value in rows:
        print("  %-*s %-*s  %s" % (first, variant, width, name, value))


def print_table(paths):
    """One summary over earlier runs' JSON files, so the variants sit side by side."""
    results, metas = {}, []
    for path in paths:
        with open(path) as handle:
            data = json.load(handle)
        metas.append(data["meta"])
        for variant, res in data["results"].items():
            results[variant] = res
    meta = dict(metas[0])
    meta["date"] = ", ".join(sorted(set(m.get("date", "?") for m in metas)))
    meta["commit"] = ", ".join(sorted(set(m.get("commit", "?") for m in metas)))
    summary(meta, results)
    return 0
