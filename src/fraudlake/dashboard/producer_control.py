"""Start and stop a producer run from the dashboard: one at a time, whoever asks.

A run is `fraudlake producer stream …` (or `producer load …`) as a detached child
process with a pid file under the run directory, so it is the same run for every
browser session, survives a restart of the dashboard, and a second start is
refused while it lives. A lock file makes "is one running? then start" a single
step when two sessions press Start at once.

Stopping sends SIGINT, which the producer turns into "stop between two commits"
(each commit is one whole transaction), so a stop never leaves half a batch; the
run writes its final counts to its status file on the way out.
"""

from __future__ import annotations

import fcntl
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fraudlake.errors import FraudlakeError
from fraudlake.producer.status import read_status
from fraudlake.settings import PathSettings
from fraudlake.stack.process import Daemon, reap

NAME = "dashboard-producer"


class ProducerBusy(FraudlakeError, RuntimeError):
    """A producer run is already going; the message says which."""


@dataclass(frozen=True)
class RunState:
    running: bool
    command: str | None  # what was started, as the producer's arguments
    read: int = 0
    loaded: int = 0
    skipped: int = 0
    quarantined: int = 0
    elapsed: float = 0.0
    finished: bool = False

    @property
    def sent(self) -> int:
        """Rows written: inserted, or set aside in quarantine."""
        return self.loaded + self.quarantined

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0


class ProducerControl:
    def __init__(self, paths: PathSettings):
        run_dir = paths.fraudlake_run_dir.resolve()
        self.daemon = Daemon(NAME, run_dir, paths.logs_dir.resolve())
        self.status_file = run_dir / f"{NAME}.json"
        self.command_file = run_dir / f"{NAME}.command"
        self.lock_file = run_dir / f"{NAME}.lock"

    def start_stream(self, *, tps: float, csv: Path | None = None, offset: int = 0, limit: int | None = None,
                     seed: int | None = None) -> None:
        """A live stream at `tps` rows a second: generated rows, or a file's rows from `offset` (at most `limit`)."""
        args = ["stream", "--tps", str(tps)]
        if csv is None:
            args += ["--generate"] + (["--seed", str(seed)] if seed is not None else [])
        else:
            args += ["--csv", str(csv), "--offset", str(offset)] + (["--limit", str(limit)] if limit else [])
        self._start(args)

    def start_load(self, csv: Path, *, offset: int = 0, limit: int | None = None) -> None:
        """A bulk load (COPY) of a file's rows from `offset`, at most `limit`."""
        self._start(["load", "--csv", str(csv), "--offset", str(offset)] + (["--limit", str(limit)] if limit else []))

    def _start(self, args: list[str]) -> None:
        with self._locked():
            pid = self.daemon.pid()
            if pid is not None:
                raise ProducerBusy(f"a producer run is already going (pid {pid}: {self._command()}); stop it first")
            self.status_file.unlink(missing_ok=True)
            self.command_file.write_text(" ".join(args))
            self.daemon.spawn([sys.executable, "-m", "fraudlake.cli", "producer", *args, "--no-progress",
                               "--status-file", str(self.status_file)])

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the run to stop between commits and wait for it; killed only if it does not stop in time."""
        with self._locked():
            # SIGINT to the producer alone: it finishes the commit in flight, writes its counts and exits.
            self.daemon.terminate(timeout, sig=signal.SIGINT, group=False)

    def state(self) -> RunState:
        pid = self.daemon.pid()
        if pid is None:
            self._reap_finished()
        status = read_status(self.status_file) or {}
        return RunState(running=pid is not None, command=self._command(),
                        **{key: status[key] for key in ("read", "loaded", "skipped", "quarantined", "elapsed",
                                                        "finished") if key in status})

    def _command(self) -> str | None:
        try:
            return self.command_file.read_text()
        except OSError:
            return None

    def _reap_finished(self) -> None:
        """A run that ended by itself is our child until collected; collect it."""
        try:
            pid = int(self.daemon.pid_file.read_text())
        except (OSError, ValueError):
            return
        reap(pid)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
