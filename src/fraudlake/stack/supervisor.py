"""The local stack's supervisor: restart what crashed, with backoff, and count it.

`make up` starts it last and `make down` stops it first. Every
SUPERVISOR_INTERVAL_SECONDS it looks at each component and restarts one that
*crashed*: its pid file is still there but its process is gone (a clean stop
removes the pid file; a kill -9, an OOM kill or a fatal error leaves it). A restart
is the component's own `start()`, the same code `make up` runs, under the same
per-component lock, so a `make up` typed during a restart waits for it instead of
starting a second copy.

Why not supervisord or circus: both must be the parent of every process they
watch, running it in the foreground. The stack's processes are detached sessions
with pid files (PostgreSQL daemonised by pg_ctl) that `make down`, the restart
script and the fault tests address from any shell; the supervisor keeps that
contract and adds only the policy: restart, back off while it keeps crashing,
record the count. Under docker compose the same job is the services'
`restart: unless-stopped`.

The policy (`RestartPolicy`) is pure and tested with a fake clock; the state other
commands read (`make status`) is a JSON file written atomically each round.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fraudlake.settings import PathSettings, SupervisorSettings
from fraudlake.stack.process import DaemonComponent, component_lock, pid_alive

STATE_FILE = "supervisor.json"


@dataclass
class Watched:
    """What the supervisor knows of one component; `restarts` counts since the state file began."""

    restarts: int = 0
    last_restart_at: str | None = None
    last_error: str | None = None
    # Consecutive restarts without a stable run in between: the backoff's exponent.
    failures: int = 0
    next_attempt_in: float | None = None
    # Monotonic times, meaningful only inside the supervisor's process.
    dead_since: float | None = field(default=None, repr=False)
    not_before: float = field(default=0.0, repr=False)
    up_since: float | None = field(default=None, repr=False)


class RestartPolicy:
    """When to restart a crashed component: after the grace period, then with doubling waits."""

    def __init__(self, settings: SupervisorSettings):
        self.settings = settings

    def backoff(self, failures: int) -> float:
        """The wait after the `failures`-th consecutive restart: 0 after the first, then doubling."""
        if failures <= 1:
            return 0.0
        s = self.settings
        return min(s.supervisor_backoff_max_seconds, s.supervisor_backoff_initial_seconds * 2 ** (failures - 2))

    def observe(self, watched: Watched, *, running: bool, crashed: bool, now: float) -> bool:
        """Update `watched` from one look at its component; True when it should be restarted now."""
        s = self.settings
        if running:
            watched.dead_since = None
            if watched.up_since is None:
                watched.up_since = now
            if watched.failures and now - watched.up_since >= s.supervisor_stable_seconds:
                watched.failures = 0
            watched.next_attempt_in = None
            return False
        watched.up_since = None
        if not crashed:  # stopped on purpose (or never started): not ours to start
            watched.dead_since = None
            watched.next_attempt_in = None
            return False
        if watched.dead_since is None:
            watched.dead_since = now
        due = max(watched.dead_since + s.supervisor_grace_seconds, watched.not_before)
        watched.next_attempt_in = max(0.0, due - now)
        return now >= due

    def restarted(self, watched: Watched, *, now: float, error: str | None) -> None:
        watched.restarts += 1
        watched.failures += 1
        watched.last_restart_at = datetime.now(UTC).isoformat(timespec="seconds")
        watched.last_error = error
        if error is None:  # it runs again; a later death starts a new grace period
            watched.dead_since = None
        watched.not_before = now + self.backoff(watched.failures + 1)


class Supervisor:
    """One round (`tick`) at a time over the components, in start order (PostgreSQL before the API)."""

    def __init__(self, components: Iterable, settings: SupervisorSettings, state_path: Path, run_dir: Path,
                 clock: Callable[[], float] = time.monotonic):
        self.components = [c for c in components if c.name != Supervised.name and settings.watches(c.name)]
        self.policy = RestartPolicy(settings)
        self.state_path = state_path
        self.run_dir = run_dir
        self.clock = clock
        previous = read_state(state_path)
        kept = ("restarts", "last_restart_at", "last_error")
        self.watched = {c.name: Watched(**{k: v for k, v in previous.get(c.name, {}).items() if k in kept})
                        for c in self.components}

    def tick(self) -> None:
        for component in self.components:
            watched = self.watched[component.name]
            running = component.pid() is not None
            if not self.policy.observe(watched, running=running, crashed=component.crashed(), now=self.clock()):
                continue
            with component_lock(self.run_dir, component.name, blocking=False) as held:
                # Someone else (`make up`, the restart script) is starting or stopping it.
                if not held or not component.crashed():
                    continue
                print(f"{component.name}: crashed; restarting (restart {watched.restarts + 1})", flush=True)
                error = None
                try:
                    component.start()
                except Exception as exc:  # noqa: BLE001 - a failed restart is retried after the backoff
                    error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                    print(f"{component.name}: restart failed: {error}", flush=True)
                self.policy.restarted(watched, now=self.clock(), error=error)
        write_state(self.state_path, self.watched)

    def run(self, interval: float) -> None:
        while True:
            self.tick()
            reap_children()
            time.sleep(interval)


def reap_children() -> None:
    """Collect the exit status of processes this supervisor started that have since died:
    they are its children, and would otherwise linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def write_state(path: Path, watched: dict[str, Watched]) -> None:
    public = {name: {k: v for k, v in asdict(w).items() if k not in ("dead_since", "not_before", "up_since")}
              for name, w in watched.items()}
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                   "components": public}, indent=1))
    partial.replace(path)  # atomic: `make status` never reads half a file


def read_state(path: Path) -> dict[str, dict]:
    """Each component's restart count, last restart and last error, as the supervisor last wrote them."""
    try:
        return json.loads(path.read_text())["components"]
    except (OSError, ValueError, KeyError):
        return {}


class Supervised(DaemonComponent):
    """The supervisor as a stack component: one Python process, no port."""

    name = "supervisor"
    label = "supervisor"
    stop_timeout = 10.0

    def __init__(self, paths: PathSettings, settings: SupervisorSettings):
        super().__init__(paths, settings)
        self.state_path = paths.fraudlake_run_dir.resolve() / STATE_FILE

    def ports(self) -> list[tuple[str, int]]:
        return []

    def healthy(self) -> bool:
        # It writes its state after every round; a first round is proof it runs.
        try:
            return self.state_path.stat().st_mtime >= self.daemon.pid_file.stat().st_mtime
        except OSError:
            return False

    def start(self) -> None:
        if not self.settings.stack_supervise:
            return
        if self.pid() is None:
            self.daemon.spawn([sys.executable, "-m", "fraudlake.stack.supervisor"])
        # The first round can include restarting a crashed component, e.g. a job (minutes).
        self.wait_healthy(timeout=300)

    def stop(self) -> None:
        # The supervisor alone: the components it restarted run in sessions of their own.
        self.daemon.terminate(timeout=self.stop_timeout, group=False)

    def status(self) -> dict:
        pid = self.pid()
        return {"pid": pid, "port": None, "healthy": pid_alive(pid) and self.healthy(),
                "off": not self.settings.stack_supervise and pid is None}


def main() -> None:
    from fraudlake import settings as cfg
    from fraudlake.stack import components

    settings = cfg.get_supervisor_settings()
    run_dir = cfg.get_path_settings().fraudlake_run_dir.resolve()
    supervisor = Supervisor(components(), settings, run_dir / STATE_FILE, run_dir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    names = ", ".join(c.name for c in supervisor.components)
    print(f"supervising {names} every {settings.supervisor_interval_seconds:g} s", flush=True)
    supervisor.run(settings.supervisor_interval_seconds)


if __name__ == "__main__":
    main()
