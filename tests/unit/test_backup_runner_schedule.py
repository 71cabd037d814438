"""The backup runner's schedule (retries back off), its hooks' clean-up when the run is ended by a signal, and the
hook agents' timeouts (an agent that does not answer in time fails the run; it is never taken for a miss)."""

import importlib.util
import os
import sys

import pytest

RUNNER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "backup", "files", "runner")


@pytest.fixture(scope="module")
def runner():
    sys.path.insert(0, RUNNER_DIR)
    try:
        spec = importlib.util.spec_from_file_location("backup_runner", os.path.join(RUNNER_DIR, "backup_runner.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(RUNNER_DIR)


HOUR = 3600


def snap(at):
    return {"time": "2026-12-04T%02d:%02d:%02dZ" % (at // HOUR, at % HOUR // 60, at % 60)}


def test_retries_back_off_from_a_minute_to_a_quarter_of_the_interval(runner):
    delays = [runner.retry_delay(6 * HOUR, n) for n in range(1, 12)]
    assert delays[:4] == [60, 120, 240, 480]
    assert delays == sorted(delays) and max(delays) == 6 * HOUR / 4
    assert runner.retry_delay(60, 5) == 60  # never less than a minute, whatever the interval


def test_next_due_after_a_failure_waits_the_retry_delay_not_the_interval(runner):
    base = runner.snapshot_time(snap(HOUR))
    ok = {"last_attempt": base + 10, "last_status": 1}
    assert runner.next_due(6 * HOUR, [snap(HOUR)], ok) == base + 6 * HOUR
    failed = {"last_attempt": base + 10, "last_status": 0, "failures": 3}
    assert runner.next_due(6 * HOUR, [snap(HOUR)], failed) == base + 10 + 240
    # No snapshot yet: at once, unless a run just failed (then its retry delay, not every minute for ever).
    assert runner.next_due(6 * HOUR, [], {}) == 0
    assert runner.next_due(6 * HOUR, [], failed) == base + 10 + 240


class Calls:
    def __init__(self):
        self.seen = []

    def __call__(self, settings, body, timeout):
        self.seen.append(body["action"])
        if body["action"] in ("scale_down", "scale_up"):
            return {"before": 1, "replicas": 0 if body["action"] == "scale_down" else 1}
        return {"exit_code": 0, "node": "n1"}


@pytest.mark.parametrize("ending", [SystemExit(143), KeyboardInterrupt()])
def test_a_run_ended_by_a_signal_mid_copy_still_scales_back_and_runs_post(runner, monkeypatch, ending):
    calls = Calls()
    monkeypatch.setattr(runner, "hook_call", calls)
    monkeypatch.setattr(runner, "hook_settings", lambda: (
        {"service": "app", "pre": "dump", "post": "rm dump", "scale_to_zero": True, "timeout": 5}, "agents", 8001))
    opts = type("Opts", (), {"namespace": "db"})()

    def copy():
        raise ending

    with pytest.raises(type(ending)):
        runner.with_hooks(opts, copy, [])
    assert calls.seen == ["scale_up", "pre", "scale_down", "scale_up", "post"]


def test_the_sigterm_handler_ends_the_run_as_an_exit(runner):
    with pytest.raises(SystemExit) as ended:
        runner._terminated(15, None)
    assert ended.value.code == 143


def test_an_agent_that_does_not_answer_in_time_fails_the_call_and_no_other_agent_is_asked(runner, monkeypatch):
    hooks = runner.hooks
    asked = []

    def post(address, port, body, password, timeout):
        asked.append(address)
        if address == "10.0.0.1":
            return None, {"error": "connection refused"}  # a miss: the next agent is asked
        return "timeout", {"error": "the hook agent at %s did not answer within %d s" % (address, timeout)}

    monkeypatch.setattr(hooks, "agents", lambda name, port: ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
    monkeypatch.setattr(hooks, "_post", post)
    with pytest.raises(hooks.HookError, match="10.0.0.2 did not answer within 5 s"):
        hooks.call("tasks.hooks", 8001, {"namespace": "db", "action": "pre"}, "pw", 5)
    assert asked == ["10.0.0.1", "10.0.0.2"]


def test_a_read_timeout_is_told_from_a_refused_connection(runner):
    """_post against a real listening socket that never answers (loopback): a timeout; against a closed port: a
    miss."""
    import socket

    hooks = runner.hooks
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        status, answer = hooks._post("127.0.0.1", port, {"action": "pre"}, "pw", 1)
        assert status == "timeout", (status, answer)
    finally:
        server.close()
    status, _answer = hooks._post("127.0.0.1", port, {"action": "pre"}, "pw", 1)
    assert status is None
