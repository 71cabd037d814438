"""Replication benchmark on the lab swarm (``python3 scripts/bench.py --help``).

Modules: ``__main__`` the command line and the run; ``lab`` lab access (docker exec, the in-node job and poller
programs ``node_job.py`` and ``node_poller.py``, the plan from the topology lookup); ``variants`` each variant's
checks against the plan; ``core`` the run's state, waits and checksums; ``latency``, ``bulk``, ``tree`` one
phase each; ``report`` the summary table.
"""
