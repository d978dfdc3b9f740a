import signal
import time

import pytest

from fraudlake.producer.stream import Pace, generated_chunks, stream_rows

from tests.producer.helpers import SAMPLE, clean, count, producer, run_producer, summary

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("tps", [50, 500])
def test_stream_holds_its_rate_over_ten_seconds(db, postgres_service, tps):
    clean(db)
    counts, elapsed = stream_rows(postgres_service.conninfo(), generated_chunks(seed=tps), "test",
                                  Pace(tps, 20, duration_s=10), progress=False)
    assert counts.loaded == count(db)
    assert abs(count(db) / 10 - tps) <= 0.05 * tps
    assert elapsed < 11
    # The rate holds through the run, not just on average: each half carries half the rows.
    first_half = db.execute(
        "SELECT count(*) FILTER (WHERE created_at < min_at + interval '5 s') FROM transactions, "
        "(SELECT min(created_at) AS min_at FROM transactions) AS start").fetchone()[0]
    assert abs(first_half / 5 - tps) <= 0.05 * tps + 1


def test_csv_stream_resumes_and_shifts_times_to_now(db):
    clean(db)
    first = run_producer("stream", "--csv", str(SAMPLE), "--tps", "1000", "--count", "300")
    assert first.returncode == 0, first.stderr
    assert summary(first.stdout) == {"read": 300, "loaded": 300, "skipped": 0, "quarantined": 0}
    second = run_producer("stream", "--csv", str(SAMPLE), "--tps", "1000", "--count", "200")
    assert summary(second.stdout) == {"read": 500, "loaded": 200, "skipped": 300, "quarantined": 0}
    assert count(db) == 500
    oldest, newest_unix = db.execute("SELECT min(trans_date_trans_time), max(unix_time) FROM transactions").fetchone()
    assert abs((oldest - db.execute("SELECT localtimestamp").fetchone()[0]).total_seconds()) < 120
    assert newest_unix > 1_500_000_000  # now minus seven years, not 2012


def test_keep_times_keeps_the_files_times(db):
    clean(db)
    result = run_producer("stream", "--csv", str(SAMPLE), "--tps", "1000", "--count", "50", "--keep-times")
    assert result.returncode == 0, result.stderr
    first = db.execute("SELECT trans_date_trans_time::text, unix_time FROM transactions "
                       "WHERE trans_num = '0b242abb623afc578575680df30655b9'").fetchone()
    assert first == ("2019-01-01 00:00:18", 1325376018)


def test_ctrl_c_stops_cleanly_with_a_summary(db):
    clean(db)
    process = producer("stream", "--generate", "--seed", "4", "--tps", "200", "--no-progress")
    deadline = time.monotonic() + 30
    while count(db) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    figures = summary(stdout)
    assert figures["loaded"] == count(db) >= 100
    assert figures["read"] == figures["loaded"] + figures["skipped"] + figures["quarantined"]
