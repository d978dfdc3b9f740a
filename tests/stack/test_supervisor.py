"""The supervisor restarts what crashed, backs off while it keeps crashing, leaves alone
what was stopped on purpose, and `make status` shows how often it restarted each part.

The policy is tested with a fake clock and fake components; the last test kills the
real API with SIGKILL and waits for the real supervisor process to bring it back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest

from fraudlake.settings import SupervisorSettings
from fraudlake.stack.process import StackError, component_lock, wait_until
from fraudlake.stack.supervisor import RestartPolicy, Supervisor, Watched, read_state
from tests.conftest import REPO_ROOT
from tests.streaming.helpers import component, restarts, supervising

FRAUDLAKE = REPO_ROOT / ".venv" / "bin" / "fraudlake"

POLICY = SupervisorSettings(supervisor_grace_seconds=3, supervisor_backoff_initial_seconds=1,
                            supervisor_backoff_max_seconds=8, supervisor_stable_seconds=60)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeComponent:
    """A process that dies when `die()` is called and comes back when started,
    unless told its start fails."""

    def __init__(self, name: str, log: list[str]):
        self.name, self.log = name, log
        self.alive, self.pid_file, self.start_fails = True, True, False

    def pid(self):
        return 4242 if self.alive else None

    def crashed(self) -> bool:
        return self.pid_file and not self.alive

    def die(self) -> None:
        self.alive = False

    def stop(self) -> None:
        self.alive, self.pid_file = False, False

    def start(self) -> None:
        self.log.append(self.name)
        if self.start_fails:
            raise RuntimeError(f"{self.name}: port 8000 is already taken by another program")
        self.alive = self.pid_file = True


def make_supervisor(tmp_path, *names: str):
    clock, log = FakeClock(), []
    parts = [FakeComponent(name, log) for name in names]
    supervisor = Supervisor(parts, POLICY, tmp_path / "supervisor.json", tmp_path, clock=clock)
    return supervisor, clock, log, parts


def test_a_crash_is_restarted_after_the_grace_period_then_with_doubling_waits_up_to_the_cap():
    policy, watched, now = RestartPolicy(POLICY), Watched(), 0.0
    restarted_at = []
    for _ in range(7):
        # Dead from `now` on: polled every 0.5 s until the policy says go.
        while not policy.observe(watched, running=False, crashed=True, now=now):
            now += 0.5
        restarted_at.append(now)
        policy.restarted(watched, now=now, error=None)  # it started, and crashes again at once
    waits = [b - a for a, b in zip(restarted_at, restarted_at[1:])]
    # The first restart waits the grace period (3 s); each next one the grace or the backoff, whichever is longer.
    assert restarted_at[0] == 3.0
    assert waits == [3.0, 3.0, 4.0, 8.0, 8.0, 8.0]
    assert watched.restarts == 7 and watched.failures == 7


def test_a_component_that_ran_long_enough_is_restarted_without_backoff_when_it_crashes_again():
    policy, watched = RestartPolicy(POLICY), Watched(failures=5)
    assert not policy.observe(watched, running=True, crashed=False, now=0.0)
    assert not policy.observe(watched, running=True, crashed=False, now=59.0)
    assert watched.failures == 5
    assert not policy.observe(watched, running=True, crashed=False, now=60.0)
    assert watched.failures == 0


def test_only_crashes_are_restarted_in_start_order_and_counted(tmp_path):
    supervisor, clock, log, (postgres, api, dashboard) = make_supervisor(tmp_path, "postgres", "api", "dashboard")
    dashboard.stop()  # `make down --only dashboard`: not a crash
    api.die()
    postgres.die()
    supervisor.tick()
    assert log == []  # within the grace period: maybe a stop in progress
    clock.now += 3
    supervisor.tick()
    assert log == ["postgres", "api"]
    state = read_state(tmp_path / "supervisor.json")
    assert state["postgres"]["restarts"] == 1 and state["api"]["restarts"] == 1
    assert state["dashboard"]["restarts"] == 0 and not dashboard.alive


def test_a_failing_restart_is_recorded_and_retried_after_the_backoff(tmp_path):
    supervisor, clock, log, (api,) = make_supervisor(tmp_path, "api")
    api.die()
    api.start_fails = True
    # Ticks at 0, 3, 6 and 9 s: the first attempt after the grace period, then after 1 s and 2 s of backoff.
    for _ in range(4):
        supervisor.tick()
        clock.now += 3
    assert log == ["api", "api", "api"]
    assert read_state(tmp_path / "supervisor.json")["api"]["last_error"].endswith("already taken by another program")
    api.start_fails = False
    clock.now += 8
    supervisor.tick()
    assert api.alive and read_state(tmp_path / "supervisor.json")["api"]["restarts"] == 4


def test_a_component_someone_else_is_starting_is_left_to_them(tmp_path):
    supervisor, clock, log, (api,) = make_supervisor(tmp_path, "api")
    api.die()
    supervisor.tick()
    clock.now += 3
    with component_lock(tmp_path, "api"):  # `make up` holds it
        supervisor.tick()
    assert log == []
    supervisor.tick()
    assert log == ["api"]


def test_the_counts_survive_a_restart_of_the_supervisor(tmp_path):
    supervisor, clock, _, (api,) = make_supervisor(tmp_path, "api")
    api.die()
    supervisor.tick()
    clock.now += 3
    supervisor.tick()
    assert api.alive
    again, *_ = make_supervisor(tmp_path, "api")
    again.tick()
    assert read_state(tmp_path / "supervisor.json")["api"]["restarts"] == 1


@pytest.fixture
def supervisor_process(api_service):
    """The real supervisor, as `make up` starts it, watching PostgreSQL and the API."""
    with supervising("postgres", "api"):
        yield


def _wait(check, timeout: float) -> bool:
    """True once `check` is (a probe that raises counts as not yet); False after `timeout`."""
    try:
        wait_until(check, timeout=timeout, what="the check")
    except StackError:
        return False
    return True


@pytest.mark.stack
def test_the_api_killed_with_sigkill_is_restarted_by_the_supervisor_and_make_status_counts_it(supervisor_process):
    api = component("api")
    before = restarts("api")
    victim = psutil.Process(api.pid())
    for process in [victim, *victim.children(recursive=True)]:
        process.send_signal(signal.SIGKILL)
    assert _wait(lambda: api.pid() not in (None, victim.pid) and api.healthy(), timeout=90), \
        "the supervisor did not bring the API back"

    assert _wait(lambda: restarts("api") == before + 1, timeout=10)
    shown = subprocess.run([str(FRAUDLAKE), "status"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr
    (row,) = [line for line in shown.stdout.splitlines() if line.lstrip("│ ").startswith("api ")]
    assert f"│ {before + 1} " in row and "restarted by the supervisor" in row, shown.stdout
    assert "supervisor" in shown.stdout


@pytest.mark.stack
def test_an_api_stopped_on_purpose_stays_stopped(supervisor_process):
    from fraudlake import stack

    api = component("api")
    before = restarts("api")
    with stack.locked(api):
        api.stop()
    try:
        time.sleep(3)  # six rounds, three grace periods
        assert api.pid() is None
        assert restarts("api") == before
    finally:
        with stack.locked(api):
            api.start()


@pytest.mark.spark
@pytest.mark.stack
def test_a_job_whose_spark_driver_dies_exits_and_the_supervisor_starts_it_again(full_stack):
    """kill -9 of the driver JVM alone (as an uncaught error in a task thread ends it):
    the job's Python process must not retry on a dead gateway forever."""
    prediction = component("prediction")
    prediction.start()
    try:
        with supervising("prediction"):
            before = restarts("prediction")
            job_process = psutil.Process(prediction.pid())
            (driver,) = [p for p in job_process.children(recursive=True) if p.name() == "java"]
            driver.send_signal(signal.SIGKILL)
            job_process.wait(timeout=60)  # psutil.TimeoutExpired: still retrying on the dead gateway
            assert _wait(lambda: prediction.pid() not in (None, job_process.pid) and prediction.healthy(),
                         timeout=240), "the supervisor did not start the job again"
            assert _wait(lambda: restarts("prediction") == before + 1, timeout=10)
    finally:
        prediction.stop()
