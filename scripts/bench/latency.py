"""Phase 1, propagation latency: small files written on the writer, timed until every reader has them."""

import base64
import os

from bench.core import fmt_stats, md5_file, runs_delta, stats
from bench.lab import dx, run_job


def phase_latency(bench, writer_node, reader_nodes, namespace_path):
    """N small unique files written on the writer, `interval` apart; per write, the time from just
    before the write until it is present with its content on all readers."""
    opts = bench.opts
    rel_dir = "%s/latency" % bench.dirname
    dx(writer_node, ["mkdir", "-p", os.path.join(namespace_path, rel_dir)])
    files = []
    for i in range(opts.writes):
        line = ("%s write %d %s\n" % (bench.tag, i, os.urandom(8).hex())).encode()
        data = (line * (1024 // len(line) + 1))[:1024]
        files.append(("%s/w%05d.txt" % (rel_dir, i), data))
    bench.watch(reader_nodes, ["W %s %d %s" % (rel, len(data), md5_file(data)) for rel, data in files])
    before = bench.status()
    bench.log("latency: %d writes of 1 KiB, %.2f s apart" % (opts.writes, opts.interval))
    job = run_job(writer_node, {"op": "write_files", "interval": opts.interval,
                                "files": [[os.path.join(namespace_path, rel), base64.b64encode(data).decode()]
                                          for rel, data in files]},
                  timeout=opts.writes * opts.interval + opts.timeout)
    t0 = {os.path.relpath(path, namespace_path): start for path, start, _end in job["writes"]}
    keys = ["F:" + rel for rel, _data in files]
    seen = bench.wait(reader_nodes, keys, opts.timeout, "latency")
    after = bench.status()
    all_lat = [max(seen[n]["F:" + rel] for n in reader_nodes) - t0[rel] for rel, _data in files]
    per_reader = {n: stats([seen[n]["F:" + rel] - t0[rel] for rel, _data in files]) for n in reader_nodes}
    bursts = {}
    for n in reader_nodes:
        arrivals = sorted(seen[n].values())
        bursts[n] = 1 + sum(1 for a, b in zip(arrivals, arrivals[1:], strict=False) if b - a > 0.1)
    span = job["writes"][-1][1] - job["writes"][0][1]
    overall = stats(all_lat)
    print("  all readers       %s" % fmt_stats(overall))
    for n in reader_nodes:
        print("  %-17s %s" % (n, fmt_stats(per_reader[n])))
    runs = runs_delta(before, after)
    print("  %d writes over %.1f s arrived in bursts of files (gap > 0.1 s): %s" % (
        opts.writes, span, ", ".join("%s %d" % (n, bursts[n]) for n in reader_nodes)))
    if runs:
        print("  replication runs during the phase (its status): %s" % ", ".join(
            "%s %d" % (n, runs[n]) for n in reader_nodes if n in runs))
    bench.remove_and_wait(writer_node, reader_nodes, os.path.join(namespace_path, rel_dir), rel_dir,
                          "latency cleanup")
    return {"writes": opts.writes, "interval_s": opts.interval, "file_bytes": 1024, "all_readers": overall,
            "per_reader": per_reader, "bursts": bursts, "replication_runs": runs, "latencies_s": all_lat}
