import pytest

from tests.scheduled.helpers import airflow_script


@pytest.fixture(scope="session")
def airflow_installed() -> None:
    """Airflow's virtualenv and metadata database, made by the project's own script
    (seconds when they exist; pip's cache makes a fresh install a minute or two)."""
    done = airflow_script("run", "version", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
