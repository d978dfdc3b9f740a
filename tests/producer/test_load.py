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
    # A COMMIT the loader sent just before it died still completes on the server (CI
    # once counted 30,000, then the rerun skipped 32,000): count once the table is still.
    at_kill, settled = count(db), None
    while settled != at_kill:
        time.sleep(0.5)
        settled, at_kill = at_kill, count(db)
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
    25: (lambda f: _set(f, "trans_date_trans_time", "0001-01-01 00:00:00"), "trans_date_trans_time outside [1970-01-01, 2100-01-01)"),
    27: (lambda f: _set(f, "trans_date_trans_time", "2100-01-01 00:00:00"), "trans_date_trans_time outside [1970-01-01, 2100-01-01)"),
    29: (lambda f: _set(f, "dob", "1899-12-31"), "dob before 1900-01-01"),
    4: (lambda f: _set(f, "cc_num", "0"), "cc_num out of range [1, 2^63)"),
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
    assert (counts.read, counts.loaded, counts.skipped, counts.quarantined) == (42, 25, 0, 17)
    assert counts.read == counts.loaded + counts.skipped + counts.quarantined
    rows = {number: (raw, reason) for number, raw, reason in db.execute(
        "SELECT line_number, raw_line, reason FROM transactions_quarantine WHERE source = %s",
        (str(path.resolve()),))}
    assert set(rows) == {*BROKEN, 31, 43}
    file_lines = path.read_text(errors="backslashreplace").splitlines()
    for number, (_, reason) in BROKEN.items():
        assert rows[number][1].startswith(reason), (number, rows[number][1])
        assert rows[number][0] == file_lines[number - 1]
    assert rows[31] == ("not,a,transaction", "expected 23 columns, found 3")
    assert rows[43] == ("0,caf\\xe9 not UTF-8", "not UTF-8")  # the byte kept, escaped
    assert count(db) == 25

    rerun = load_file(postgres_service.conninfo(), path, chunk_rows=100, progress=False)
    assert (rerun.read, rerun.loaded, rerun.skipped, rerun.quarantined) == (42, 0, 25, 17)
    assert count(db, "transactions_quarantine") == 17


def _sample_file(tmp_path, lines: int, replace: dict[int, bytes], head: bytes = b"") -> tuple:
    """The sample's header and first `lines` rows, with some lines (by line number) replaced."""
    text = SAMPLE.read_bytes().splitlines(keepends=True)[:1 + lines]
    for number, line in replace.items():
        text[number - 1] = line
    path = tmp_path / "hostile.csv"
    path.write_bytes(head + b"".join(text))
    return path, text


def _quarantined(db, path) -> dict[int, tuple[str, str]]:
    return {number: (raw, reason) for number, raw, reason in db.execute(
        "SELECT line_number, raw_line, reason FROM transactions_quarantine WHERE source = %s", (str(path.resolve()),))}


def _edited(line: bytes, column: str, value: str) -> bytes:
    """A sample line with one field set."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(_set(next(csv.reader([line.decode()])), column, value))
    return out.getvalue().encode()


def test_a_nul_byte_and_an_over_long_line_are_quarantined_and_their_chunk_loads(db, tmp_path):
    clean(db)
    sample = SAMPLE.read_bytes().splitlines(keepends=True)
    path, _ = _sample_file(tmp_path, 30, {
        5: _edited(sample[4], "merchant", "fraud_Nul\x00Byte"),
        9: _edited(sample[8], "merchant", "x" * 200_000),  # over Python csv's 128 KiB field limit
    })
    result = run_producer("load", "--csv", str(path))  # one chunk holds all 30 rows
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout) == {"read": 30, "loaded": 28, "skipped": 0, "quarantined": 2}
    rows = _quarantined(db, path)
    nul_line = _edited(sample[4], "merchant", "fraud_Nul\x00Byte").decode().rstrip("\n")
    assert rows[5] == (nul_line.replace("\x00", "\\x00"), "NUL character in line")  # the byte kept, escaped
    assert rows[9][1] == "unparsable line: field larger than field limit (131072)"
    assert len(rows[9][0]) > 200_000
    assert count(db) == 28


def test_a_text_field_longer_than_the_setting_is_quarantined(db, tmp_path):
    clean(db)
    sample = SAMPLE.read_bytes().splitlines(keepends=True)
    path, _ = _sample_file(tmp_path, 20, {7: _edited(sample[6], "merchant", "m" * 5000)})
    result = run_producer("load", "--csv", str(path), env={"PRODUCER_MAX_TEXT_CHARS": "4000"})
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout) == {"read": 20, "loaded": 19, "skipped": 0, "quarantined": 1}
    (reason,) = [reason for _, reason in _quarantined(db, path).values()]
    assert reason.startswith("merchant longer than 4,000 characters (PRODUCER_MAX_TEXT_CHARS): 'mmm")
    assert reason.endswith("… (5,000 characters)")


def test_a_byte_order_mark_before_the_header_is_accepted(db, tmp_path):
    clean(db)
    path, _ = _sample_file(tmp_path, 10, {}, head=b"\xef\xbb\xbf")  # as Excel saves a CSV
    result = run_producer("load", "--csv", str(path))
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout) == {"read": 10, "loaded": 10, "skipped": 0, "quarantined": 0}


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
