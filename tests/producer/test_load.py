import signal
import time

import pandas as pd
import pytest
from psycopg import sql

from fraudlake.kaggle import read_kaggle_csv
from fraudlake.producer.generator import generate, write_kaggle_csv
from fraudlake.producer.load import load_file
from fraudlake.schema import COLUMN_NAMES

from tests.producer.helpers import SAMPLE, clean, count, producer, run_producer, summary

pytestmark = pytest.mark.stack


def _table(db) -> pd.DataFrame:
    columns = sql.SQL(", ").join(map(sql.Identifier, COLUMN_NAMES))
    rows = db.execute(sql.SQL("SELECT {} FROM transactions").format(columns)).fetchall()
    return pd.DataFrame(rows, columns=list(COLUMN_NAMES))


def test_sample_loads_exactly(db):
    clean(db)
    result = run_producer("load", "--csv", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout) == {"read": 5039, "loaded": 5039, "skipped": 0, "quarantined": 0}
    assert count(db) == 5039
    assert db.execute("SELECT count(*) FROM transactions WHERE is_fraud = 1").fetchone()[0] == 22

    expected = read_kaggle_csv(SAMPLE).sort_values("trans_num").reset_index(drop=True)
    loaded = _table(db).sort_values("trans_num").reset_index(drop=True)
    loaded["amt"] = loaded["amt"].astype(float)
    loaded = loaded.astype(expected.dtypes.to_dict())
    pd.testing.assert_frame_equal(loaded, expected)
    assert "fraud_Rippin, Kub and Mann" in set(loaded["merchant"])
    assert "Psychologist, counselling" in set(loaded["job"])


def test_rerun_skips_everything_and_offset_limit_select_rows(db, postgres_service):
    clean(db)
    conninfo = postgres_service.conninfo()
    first = load_file(conninfo, SAMPLE, chunk_rows=1000, offset=100, limit=200, progress=False)
    assert (first.read, first.loaded) == (200, 200)
    expected = set(read_kaggle_csv(SAMPLE)["trans_num"][100:300])
    assert {row[0] for row in db.execute("SELECT trans_num FROM transactions")} == expected
    again = load_file(conninfo, SAMPLE, chunk_rows=1000, progress=False)
    assert (again.read, again.loaded, again.skipped, again.quarantined) == (5039, 4839, 200, 0)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("producer") / "generated-100k.csv"
    write_kaggle_csv(generate(100_000, seed=21), path)
    return path


def test_killed_load_resumes_and_loads_every_row_once(db, big_file):
    clean(db)
    small_chunks = {"PRODUCER_COPY_BATCH_ROWS": "2000"}
    process = producer("load", "--csv", str(big_file), "--no-progress", env=small_chunks)
    deadline = time.monotonic() + 60
    while count(db) < 20_000 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    at_kill = count(db)
    assert 20_000 <= at_kill < 100_000, "killed halfway"
    assert at_kill % 2000 == 0, "only whole chunks are committed"

    result = run_producer("load", "--csv", str(big_file), env=small_chunks)
    assert result.returncode == 0, result.stderr
    figures = summary(result.stdout)
    assert figures == {"read": 100_000, "loaded": 100_000 - at_kill, "skipped": at_kill, "quarantined": 0}
    assert count(db) == 100_000
    in_table = {row[0] for row in db.execute("SELECT trans_num FROM transactions")}
    assert in_table == set(read_kaggle_csv(big_file)["trans_num"])


BROKEN = {
    # line in the file -> (how the good line is broken, the reason expected)
    3: (lambda f: f[:-1], "expected 23 columns, found 22"),
    5: (lambda f: _set(f, "amt", "12,5x"), "unparsable amt: '12,5x'"),
    7: (lambda f: _set(f, "trans_date_trans_time", "2019-13-01 00:00:00"), "unparsable trans_date_trans_time"),
    9: (lambda f: _set(f, "lat", "north"), "unparsable lat: 'north'"),
    11: (lambda f: _set(f, "long", "-181.5"), "long out of range [-180, 180]: '-181.5'"),
    13: (lambda f: _set(f, "trans_num", ""), "empty trans_num"),
    15: (lambda f: _set(f, "amt", "-4.00"), "amt out of range"),
    17: (lambda f: _set(f, "is_fraud", "2"), "is_fraud not 0 or 1"),
    19: (lambda f: _set(f, "dob", "1988-02-30"), "unparsable dob"),
    21: (lambda f: _set(f, "amt", "4.975"), "amt has more than 2 decimals"),
    23: (lambda f: _set(f, "cc_num", "99999999999999999999"), "unparsable cc_num"),
}


def _set(fields: list[str], column: str, value: str) -> list[str]:
    fields[1 + COLUMN_NAMES.index(column)] = value
    return fields


def _broken_file(tmp_path):
    import csv
    import io

    lines = SAMPLE.read_text().splitlines()[:41]
    for number, (breaker, _) in BROKEN.items():
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(breaker(next(csv.reader([lines[number - 1]]))))
        lines[number - 1] = out.getvalue()
    lines.insert(30, "not,a,transaction")  # line 31
    path = tmp_path / "broken.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"0,caf\xe9 not UTF-8\n")  # line 43
    return path


def test_broken_rows_are_quarantined_with_line_and_reason(db, tmp_path, postgres_service):
    clean(db)
    path = _broken_file(tmp_path)
    counts = load_file(postgres_service.conninfo(), path, chunk_rows=7, progress=False)
    assert (counts.read, counts.loaded, counts.skipped, counts.quarantined) == (42, 29, 0, 13)
    assert counts.read == counts.loaded + counts.skipped + counts.quarantined
    rows = {number: (raw, reason) for number, raw, reason in db.execute(
        "SELECT line_number, raw_line, reason FROM transactions_quarantine WHERE source = %s",
        (str(path.resolve()),))}
    assert set(rows) == {*BROKEN, 31, 43}
    file_lines = path.read_text(errors="replace").splitlines()
    for number, (_, reason) in BROKEN.items():
        assert rows[number][1].startswith(reason), (number, rows[number][1])
        assert rows[number][0] == file_lines[number - 1]
    assert rows[31] == ("not,a,transaction", "expected 23 columns, found 3")
    assert rows[43] == ("0,caf\ufffd not UTF-8", "not UTF-8")
    assert count(db) == 29

    rerun = load_file(postgres_service.conninfo(), path, chunk_rows=100, progress=False)
    assert (rerun.read, rerun.loaded, rerun.skipped, rerun.quarantined) == (42, 0, 29, 13)
    assert count(db, "transactions_quarantine") == 13


def test_foreign_header_is_refused_before_anything_loads(db, tmp_path):
    clean(db)
    lines = SAMPLE.read_text().splitlines()[:10]
    lines[0] = lines[0].replace(",amt,", ",amount,")
    path = tmp_path / "renamed.csv"
    path.write_text("\n".join(lines))
    result = run_producer("load", "--csv", str(path))
    assert result.returncode == 2
    assert "missing columns: amt" in result.stderr and "'amount'" in result.stderr
    assert count(db) == 0
