"""The producer controls: one run at a time, progress while it runs, a clean stop."""

import time

import pytest

from fraudlake import settings as cfg
from fraudlake.dashboard.producer_control import ProducerBusy, ProducerControl

from tests.conftest import SAMPLE_CSV
from tests.dashboard.helpers import clean
from tests.producer.helpers import count

pytestmark = pytest.mark.stack


@pytest.fixture
def control(postgres_service, db):
    clean(db)
    control = ProducerControl(cfg.get_path_settings())
    yield control
    control.stop()


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_stream_runs_alone_reports_progress_and_stops_cleanly(control, db):
    control.start_stream(tps=100, seed=7)
    _wait(lambda: count(db) >= 150 and control.state().sent > 0)
    with pytest.raises(ProducerBusy, match="already going"):
        control.start_stream(tps=10)
    with pytest.raises(ProducerBusy):
        ProducerControl(cfg.get_path_settings()).start_load(SAMPLE_CSV)  # another session, same run dir
    running = control.state()
    assert running.running and running.command.startswith("stream --tps 100")
    assert 40 <= running.rate <= 130

    control.stop()
    stopped = control.state()
    assert not stopped.running and stopped.finished
    rows = count(db)
    time.sleep(1.5)
    assert count(db) == rows  # nothing arrives after the stop
    # Whole commits only: the final counts are exactly the rows in the table.
    assert stopped.loaded == rows and stopped.read == stopped.loaded + stopped.skipped + stopped.quarantined


def test_a_file_loads_with_offset_and_limit_and_the_next_run_may_start(control, db):
    control.start_load(SAMPLE_CSV, offset=100, limit=250)
    _wait(lambda: not control.state().running)
    state = control.state()
    assert (state.finished, state.loaded, count(db)) == (True, 250, 250)
    control.start_stream(tps=200, csv=SAMPLE_CSV, offset=100, limit=300)  # the first 250 are present
    _wait(lambda: not control.state().running)
    state = control.state()
    assert (state.loaded, state.skipped, count(db)) == (50, 250, 300)
