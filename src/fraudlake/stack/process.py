"""Starting, watching and stopping the local stack's processes.

Each component runs detached (its own session, so Ctrl-C in the terminal that ran
`make up` does not kill it), logs to `.run/logs/<name>.log` and records its pid in
`.run/<name>.pid`. Everything here is generic; the components say what to run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fraudlake.errors import FraudlakeError
from fraudlake.stack.rundir import make_dir


class StackError(FraudlakeError, RuntimeError):
    """A component could not be started or checked; the message says what to do."""


# glibc gives threads that allocate at once arenas of their own, up to 8 per core, and
# a JVM has dozens of threads: memory freed in one arena is not reused by another. The
# stack's JVMs and Python processes get 2, as JVMs in containers usually do. A value in
# the environment wins.
PROCESS_DEFAULTS = {"MALLOC_ARENA_MAX": "2"}


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.5,
) -> None:
    """Poll `check` until it is true; fail with the log's tail if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - a health probe failing just means "not yet"
            pass
        if alive is not None and not alive():
            raise StackError(f"{what}: the process exited.\n--- last lines of {log} ---\n{log_tail(log) if log else ''}")
        time.sleep(interval)
    tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
    raise StackError(f"{what}: not healthy after {timeout:.0f} s.{tail}")


@dataclass
class Daemon:
    """A long-running process this package starts and stops by pid file."""

    name: str
    run_dir: Path
    logs_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def spawn(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
        make_dir(self.logs_dir)
        with open(self.log_file, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**PROCESS_DEFAULTS, **os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def terminate(self, timeout: float = 30.0, *, sig: signal.Signals = signal.SIGTERM, group: bool = True) -> None:
        """Send `sig` (to the whole process group, or the process alone) and wait; SIGKILL the group after `timeout`."""
        pid = self.pid()
        if pid is not None:
            try:
                if group:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                reap(pid)
                time.sleep(0.2)
            if pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)
                reap(pid)
        self.pid_file.unlink(missing_ok=True)


def reap(pid: int) -> None:
    """Collect our own child's exit status, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


@contextlib.contextmanager
def component_lock(run_dir: Path, name: str, *, blocking: bool = True) -> Iterator[bool]:
    """Held while a component is started or stopped, by `make up`/`down`, the restart
    script and the supervisor, so two of them never start one component twice.
    Yields whether it was taken (always, when blocking). The kernel drops the lock
    with its holder, so a killed holder never leaves it stuck."""
    locks = make_dir(Path(run_dir) / "locks")
    with open(locks / f"{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def ensure_port_free(port: int, setting: str, component: str) -> None:
    if port_is_open(port):
        raise StackError(
            f"{component}: port {port} is already taken by another program. "
            f"Stop that program, or set {setting} in .env to another port."
        )


def run(argv: list[str], *, what: str, env: dict[str, str] | None = None, input: str | None = None,
        timeout: float = 600) -> str:
    """Run a short command; fail with its output if it fails."""
    proc = subprocess.run(
        argv,
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise StackError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc.stdout


class DaemonComponent:
    """A stack component that is one long-running process of ours (not PostgreSQL,
    which pg_ctl daemonises). Subclasses say which ports, how to start, and when healthy."""

    name: str
    label: str
    stop_timeout: float = 60.0

    def __init__(self, paths, settings):
        self.paths = paths
        self.settings = settings
        self.daemon = Daemon(self.name, paths.fraudlake_run_dir.resolve(), paths.logs_dir.resolve())

    def ports(self) -> list[tuple[str, int]]:
        """(setting, port) pairs; the first is the one `status` shows (none for a process that only calls out)."""
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def pid(self) -> int | None:
        return self.daemon.pid()

    def crashed(self) -> bool:
        """Its process died without being stopped: `stop()` removes the pid file, a crash does not."""
        return self.daemon.pid_file.exists() and self.pid() is None

    def claim_ports(self) -> None:
        for setting, port in self.ports():
            ensure_port_free(port, setting, self.label)

    def wait_healthy(self, timeout: float) -> None:
        wait_until(self.healthy, timeout=timeout, what=self.label, log=self.daemon.log_file,
                   alive=lambda: self.pid() is not None)

    def stop(self) -> None:
        self.daemon.terminate(timeout=self.stop_timeout)

    def kill(self) -> None:
        """kill -9 of its whole process group (a job's driver and JVM): a crash, for the
        tests; its pid file stays, as after a real crash."""
        pid = self.pid()
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.1)

    def status(self) -> dict:
        pid = self.pid()
        healthy = False
        if pid is not None:
            try:
                healthy = self.healthy()
            except Exception:  # noqa: BLE001 - status reports, it does not fail
                healthy = False
        ports = self.ports()
        return {"pid": pid, "port": ports[0][1] if ports else None, "healthy": healthy}
