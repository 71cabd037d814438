"""Phase 3, small changes in a big tree: the tree's initial replication, then 10 modified files."""

import base64
import os
import time

from bench.bulk import rsync_to_every_reader
from bench.core import fmt_s, md5_file, runs_delta, verify_same
from bench.lab import BenchError, run_job


def phase_tree(bench, writer_node, reader_nodes, namespace_path):
    """`tree-files` small files in nested dirs (1000 per dir) written straight into the namespace; then
    10 of them modified: until all 10 changes are visible on all readers."""
    opts = bench.opts
    rel_dir = "%s/tree" % bench.dirname
    per_dir = 1000
    n = opts.tree_files
    n_dirs = -(-n // per_dir)
    bench.watch(reader_nodes, ["C %s %d" % (rel_dir, n)])
    bench.log("tree: creating %d files in %d dirs on %s" % (n, n_dirs, writer_node))
    made = run_job(writer_node, {"op": "tree", "root": os.path.join(namespace_path, rel_dir), "per_dir": per_dir,
                                 "files": n, "tag": bench.tag}, opts.timeout)
    seen = bench.wait(reader_nodes, ["C:" + rel_dir], opts.timeout, "tree initial replication")
    done = {r: seen[r]["C:" + rel_dir] - made["t0"] for r in reader_nodes}
    initial = max(done.values())
    print("  %d files created on the writer in %.1f s; complete on all readers %.1f s after the first write "
          "(%.1f s after the last)" % (n, made["t1"] - made["t0"], initial, initial - (made["t1"] - made["t0"])))
    print("      complete after: %s" % ", ".join("%s %.1f s" % (r, done[r]) for r in reader_nodes))
    paths = {r: os.path.join(namespace_path, rel_dir) for r in [writer_node] + reader_nodes}
    ok, message = verify_same(bench, writer_node, reader_nodes, paths, "tree")
    print("      %s" % message)
    if not ok:
        raise BenchError(message)
    try:
        baseline = tree_baseline(bench, writer_node, reader_nodes, paths[writer_node])
    except BenchError as exc:
        baseline = {"error": str(exc)}
        print("  baseline FAILED: %s" % exc)
    if "seconds" in baseline:
        # Replication starts while the files are written; the alternative is to write them and then rsync them.
        baseline["ratio"] = initial / (made["t1"] - made["t0"] + baseline["seconds"])
        print("  ratio replication / (writing the tree + bare rsync to every reader at once): %.2f" % baseline["ratio"])

    time.sleep(opts.settle)
    picks = sorted({min(n - 1, k * (n // 10) + (k * 37) % max(1, n // 10)) for k in range(10)})
    changes = []
    for i in picks:
        rel = "%s/d%04d/f%06d.txt" % (rel_dir, i // per_dir, i)
        changes.append((rel, ("%s modified %d %s\n" % (bench.tag, i, os.urandom(4).hex())).encode()))
    bench.watch(reader_nodes, ["W %s %d %s" % (rel, len(data), md5_file(data)) for rel, data in changes])
    before = bench.status()
    bench.log("tree: modifying %d files" % len(changes))
    job = run_job(writer_node, {"op": "write_files", "interval": 0,
                                "files": [[os.path.join(namespace_path, rel), base64.b64encode(data).decode()]
                                          for rel, data in changes]}, opts.timeout)
    t_first = job["writes"][0][1]
    seen = bench.wait(reader_nodes, ["F:" + rel for rel, _data in changes], opts.timeout, "tree modifications")
    after = bench.status()
    changed = max(max(s.values()) for s in seen.values()) - t_first
    per_reader = {r: max(seen[r].values()) - t_first for r in reader_nodes}
    print("  %d files modified in the %d-file tree: all changes on all readers after %.2f s" % (
        len(changes), n, changed))
    print("      per reader: %s" % ", ".join("%s %.2f s" % (r, per_reader[r]) for r in reader_nodes))
    runs = runs_delta(before, after)
    if after:
        last = ["%s %s s, %s files transferred of %s" % (
            r, after[r].get("last_duration_seconds"), after[r].get("last_files_transferred"),
            after[r].get("files_total")) for r in reader_nodes if r in after]
        print("      last replication run (its status): %s" % "; ".join(last))
    delete_s = bench.remove_and_wait(writer_node, reader_nodes, os.path.join(namespace_path, rel_dir), rel_dir,
                                     "tree cleanup")
    print("  delete of the tree on the writer gone on all readers after %s" % fmt_s(delete_s))
    return {"files": n, "dirs": n_dirs, "create_s": made["t1"] - made["t0"], "initial_s": initial,
            "initial_per_reader_s": done, "baseline": baseline, "changed_files": len(changes), "change_s": changed,
            "change_per_reader_s": per_reader, "replication_runs": runs,
            "last_run_status": {r: after[r] for r in reader_nodes if after and r in after}, "delete_s": delete_s}


def tree_baseline(bench, writer_node, reader_nodes, tree):
    """The same tree by bare rsync -a over SSH from the writer to every reader at once, each into a scratch dir
    (what the tree's first replication is compared with, in the same run)."""
    time.sleep(bench.opts.settle)
    seconds, ok, message = rsync_to_every_reader(bench, writer_node, reader_nodes, tree,
                                                 "/var/tmp/bench-tree-baseline-%d" % bench.pid, "tree")
    print("  baseline: bare rsync -a over ssh of the tree to all %d readers at once: %.2f s; %s" % (
        len(reader_nodes), seconds, "verified" if ok else message))
    return {"seconds": seconds, "verified": ok}
