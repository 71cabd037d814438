# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/swarm_services_wait.py: service states from tasks, and the wait against a fake engine."""

from ansible_collections.swarmdata.replication.plugins.modules import swarm_services_wait as m


class FakeService(object):
    def __init__(self, name, mode, tasks, update=None):
        self.name = name
        self.attrs = {"Spec": {"Mode": mode}, "UpdateStatus": update}
        self._tasks = tasks

    def tasks(self):
        return self._tasks


def task(desired="running", state="running", err=None, ts="2026-12-01T00:00:00Z"):
    return {"DesiredState": desired, "Status": {"State": state, "Err": err, "Timestamp": ts}}


def test_replicated_running():
    s = m.service_state(FakeService("x", {"Replicated": {"Replicas": 1}}, [task()]), [task()])
    assert s["desired"] == 1 and s["running"] == 1 and m.converged(s)


def test_global_counts_one_task_per_node_and_keeps_the_newest_error():
    tasks = [task(), task(state="pending", err="no suitable node", ts="2026-12-01T00:00:02Z"),
             task(desired="shutdown", state="failed", err="old error", ts="2026-12-01T00:00:01Z")]
    s = m.service_state(FakeService("x", {"Global": {}}, tasks), tasks)
    assert s["desired"] == 2 and s["running"] == 1 and not m.converged(s)
    assert s["last_error"] == "no suitable node"
    assert "1/2 tasks running" in m.why("st_x", s) and "no suitable node" in m.why("st_x", s)


def test_an_update_in_progress_is_not_converged():
    s = m.service_state(FakeService("x", {"Replicated": {"Replicas": 1}}, [task()], {"State": "updating"}),
                        [task()])
    assert s["updating"] and not m.converged(s)


def test_zero_replicas_wanted_is_not_converged():
    s = m.service_state(FakeService("x", {"Replicated": {"Replicas": 0}}, []), [])
    assert not m.converged(s)


def run(run_module, swarm_client, fakes, check_mode=False, **args):
    swarm_client.services.list.return_value = fakes
    params = {"stack": "st", "timeout": 0, "interval": 0.01}
    params.update(args)
    return run_module(m, params, check_mode=check_mode)


def test_wait_returns_states(run_module, swarm_client):
    ok = FakeService("st_sender", {"Replicated": {"Replicas": 1}}, [task()])
    result = run(run_module, swarm_client, [ok], services=["sender"]).result
    assert result["converged"] is True and result["changed"] is False
    assert result["services"]["st_sender"]["running"] == 1


def test_timeout_names_every_service_that_did_not_converge(run_module, swarm_client):
    bad = FakeService("st_recv-a", {"Replicated": {"Replicas": 1}}, [task(state="pending", err="no suitable node")])
    result = run(run_module, swarm_client, [bad], services=["recv-a", "sender"]).result
    assert result["failed"]
    assert "st_recv-a: 0/1 tasks running" in result["msg"] and "no suitable node" in result["msg"]
    assert "st_sender: no such service in the stack" in result["msg"]


def test_check_mode_reads_once_and_never_fails(run_module, swarm_client):
    result = run(run_module, swarm_client, [], check_mode=True, services=["sender"], timeout=60).result
    assert not result.get("failed") and result["converged"] is False and result["waited"] < 5


def test_an_empty_stack_fails_clearly(run_module, swarm_client):
    result = run(run_module, swarm_client, []).result
    assert result["failed"] and "it has no services" in result["msg"]


def test_a_global_service_waits_for_the_expected_task_count(run_module, swarm_client):
    half = FakeService("st_syncthing", {"Global": {}}, [task(), task()])
    result = run(run_module, swarm_client, [half], services=["syncthing"], expected_tasks={"syncthing": 3}).result
    assert result["failed"] and "2/3 tasks running" in result["msg"]


def test_a_paused_update_is_not_converged_and_says_why():
    svc = FakeService("x", {"Replicated": {"Replicas": 1}}, [task()],
                      {"State": "paused", "Message": "update paused due to failure"})
    s = m.service_state(svc, [task()])
    assert not m.converged(s) and "update paused due to failure" in m.why("st_x", s)


def test_two_converged_reads_in_a_row(run_module, swarm_client):
    ok = FakeService("st_sender", {"Replicated": {"Replicas": 1}}, [task()])
    result = run(run_module, swarm_client, [ok], services=["sender"], timeout=30).result
    assert result["converged"] is True and swarm_client.services.list.call_count == 2


def test_a_stack_the_run_did_not_change_is_read_once(run_module, swarm_client):
    ok = FakeService("st_sender", {"Replicated": {"Replicas": 1}}, [task()])
    result = run(run_module, swarm_client, [ok], services=["sender"], timeout=30, reads=1).result
    assert result["converged"] is True and swarm_client.services.list.call_count == 1 and result["waited"] < 1
