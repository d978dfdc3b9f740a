"""The settings of a stack of its own: its own run directory (data, logs, generated
`.env`) and every port offset by a number, so it runs beside the user's `make up`
stack without touching it. The tests (offset 10000) and `make bench` (offset 20000)
start theirs this way.

Only plain values here: callers put them into the environment before any settings
are read.
"""

from __future__ import annotations

from pathlib import Path

# Every port setting and the port it defaults to (settings.py).
_PORTS = {
    "POSTGRES_PORT": 5432,
    "KAFKA_PORT": 9092,
    "KAFKA_CONTROLLER_PORT": 9093,
    "CONNECT_PORT": 8083,
    "MINIO_PORT": 9000,
    "MINIO_CONSOLE_PORT": 9001,
    "API_PORT": 8000,
    "LAKEHOUSE_UI_PORT": 4040,
    "PREDICTION_UI_PORT": 4041,
    "DASHBOARD_PORT": 8501,
    "AIRFLOW_PORT": 8080,
}


def isolated_stack_env(run_dir: Path, port_offset: int) -> dict[str, str]:
    ports = {name: base + port_offset for name, base in _PORTS.items()}
    return {
        "FRAUDLAKE_RUN_DIR": str(run_dir),
        "FRAUDLAKE_ENV_FILE": str(run_dir / ".env"),
        "POSTGRES_HOST": "127.0.0.1",
        **{name: str(port) for name, port in ports.items()},
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['KAFKA_PORT']}",
        "CONNECT_URL": f"http://127.0.0.1:{ports['CONNECT_PORT']}",
        "MINIO_ENDPOINT": f"http://127.0.0.1:{ports['MINIO_PORT']}",
        "API_URL": f"http://127.0.0.1:{ports['API_PORT']}",
    }
