"""A private PostgreSQL cluster under the run directory, ready for Debezium.

The cluster is initialised once (`initdb`), configured for logical decoding and
started with `pg_ctl`; the SQL in `fraudlake/resources/debezium/postgres/` is applied on every start
(it is idempotent), so a checkout that gains a table gets it on the next `make up`.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
OS user that the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
from pathlib import Path

import psycopg

from fraudlake.resources import resource
from fraudlake.settings import PathSettings, PostgresSettings, get_path_settings
from fraudlake.stack.artifacts import INSTALL_HINTS
from fraudlake.stack.process import StackError, ensure_port_free, pid_alive, run, wait_until
from fraudlake.stack.rundir import make_dir

SQL_DIR = resource("debezium", "postgres")
SUPERUSER = "postgres"
# Enough WAL for a connector stopped over a weekend; beyond it the slot is invalidated
# rather than filling the disk (then restart the connector with a fresh snapshot).
MAX_SLOT_WAL_KEEP_SIZE = "4GB"


def bin_dir() -> Path:
    configured = get_path_settings().postgres_bin_dir
    if configured and not (configured / "initdb").exists():
        raise StackError(f"POSTGRES_BIN_DIR={configured} holds no initdb; point it at PostgreSQL's bin directory.")
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StackError(f"PostgreSQL server binaries not found; {INSTALL_HINTS['initdb']}.")


class Postgres:
    name = "postgres"

    def __init__(self, paths: PathSettings, settings: PostgresSettings):
        self.paths = paths
        self.settings = settings
        self.data_dir = (paths.fraudlake_run_dir / "postgres" / "data").resolve()
        self.socket_dir = (paths.fraudlake_run_dir / "postgres" / "socket").resolve()
        self.log_file = (paths.logs_dir / "postgres.log").resolve()

    # PostgreSQL will not run as root: run its tools as the `postgres` OS user then.
    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise StackError("running as root needs the `postgres` OS user; "
                             f"{INSTALL_HINTS['initdb']} creates it.") from exc
        return ["runuser", "-u", "postgres", "--", *argv]

    def _chown(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in paths:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def crashed(self) -> bool:
        """The server died without `pg_ctl stop`, which removes postmaster.pid on a clean shutdown."""
        return (self.data_dir / "postmaster.pid").exists() and self.pid() is None

    def ports(self) -> list[tuple[str, int]]:
        return [("POSTGRES_PORT", self.settings.postgres_port)]

    def healthy(self) -> bool:
        try:
            with psycopg.connect(self.settings.conninfo(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _prepare_log(self) -> None:
        """The server's log file, which it opens itself: as root the server runs as the
        `postgres` OS user, which gets the file and, through the group, a way in."""
        group = SUPERUSER if os.geteuid() == 0 else None
        make_dir(self.log_file.parent, group=group)
        make_dir(self.paths.fraudlake_run_dir.resolve(), group=group)
        self.log_file.touch(mode=0o640)
        self._chown(self.log_file)

    def _initdb(self) -> None:
        tools = bin_dir()
        for directory in (self.data_dir.parent, self.socket_dir):
            make_dir(directory)
        self._chown(self.data_dir.parent, self.socket_dir)
        print("initialising the PostgreSQL cluster …", flush=True)
        # Local socket connections are trusted (the socket directory is private to the
        # server's user); TCP connections need a password.
        run(self._as_owner([str(tools / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]),
            what="initdb")

    def start(self) -> None:
        if self.pid() is not None:
            self._apply_sql()
            return
        ensure_port_free(self.settings.postgres_port, "POSTGRES_PORT", "PostgreSQL")
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._prepare_log()
        options = " ".join([
            f"-p {self.settings.postgres_port}",
            f"-k {self.socket_dir}",
            f"-c listen_addresses={self.settings.postgres_host if self.settings.postgres_host != 'localhost' else '127.0.0.1'}",
            "-c wal_level=logical",
            "-c max_wal_senders=10",
            "-c max_replication_slots=10",
            f"-c max_slot_wal_keep_size={MAX_SLOT_WAL_KEEP_SIZE}",
            # Durability is kept (fsync on); these only batch WAL flushes for bulk loads.
            "-c synchronous_commit=on",
            "-c shared_buffers=256MB",
            "-c max_wal_size=2GB",
        ])
        run(self._as_owner([str(bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                            "-o", options, "-w", "-t", "60", "start"]),
            what="starting PostgreSQL")
        self._apply_sql()
        wait_until(self.healthy, timeout=30, what="PostgreSQL", log=self.log_file)

    def psql(self, sql_file: Path, database: str, variables: dict[str, str]) -> str:
        argv = [str(bin_dir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
                "-p", str(self.settings.postgres_port), "-U", SUPERUSER, "-d", database]
        for key, value in variables.items():
            argv += ["-v", f"{key}={value}"]
        # Passed on stdin so the file need not be readable by the postgres OS user.
        return run(self._as_owner(argv), input=sql_file.read_text(), what=f"applying {sql_file.name}")

    def _apply_sql(self) -> None:
        s = self.settings
        self.psql(SQL_DIR / "00-cluster.sql", "postgres", {
            "app_user": s.postgres_user,
            "app_password": s.postgres_password.get_secret_value(),
            "app_db": s.postgres_db,
            "debezium_user": s.debezium_db_user,
            "debezium_password": s.debezium_db_password.get_secret_value(),
        })
        self.psql(SQL_DIR / "10-fraudlake.sql", s.postgres_db, {
            "app_user": s.postgres_user,
            "debezium_user": s.debezium_db_user,
            "publication": s.postgres_publication,
        })

    def stop(self) -> None:
        if self.pid() is None:
            return
        run(self._as_owner([str(bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            what="stopping PostgreSQL")

    def status(self) -> dict:
        return {"pid": self.pid(), "port": self.settings.postgres_port, "healthy": self.healthy()}
