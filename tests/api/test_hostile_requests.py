"""Requests a hostile or broken client sends, against the stack's API and PostgreSQL.

Each is answered 422 naming the row and field (or 413 for size), never a 500, and
the server keeps the keep-alive connection: the next request on it is scored.
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from fraudlake.kaggle import read_kaggle_csv
from tests.api.payloads import as_payload
from tests.conftest import SAMPLE_CSV

pytestmark = pytest.mark.stack

BAD_ROW = 3  # where a batch carries its one bad row


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    rows = as_payload(read_kaggle_csv(SAMPLE_CSV, nrows=100))
    return [row | {"trans_num": f"hostile-{i}"} for i, row in enumerate(rows)]  # never stored, so no history of their own


@pytest.fixture(scope="module")
def api(api_service) -> httpx.Client:
    with httpx.Client(base_url=api_service.api_url, headers=api_service.auth_headers(), timeout=60) as client:
        yield client


def _local_port(response: httpx.Response) -> int:
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


def _assert_refused_on_a_kept_connection(api: httpx.Client, response: httpx.Response, status: int,
                                         loc: list, rows: list[dict]) -> dict:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if loc:
        assert detail[0]["loc"] == loc, detail
    assert response.headers.get("connection", "").lower() != "close"
    after = api.post("/predict/raw", json=rows[0])
    assert after.status_code == 200, after.text
    assert _local_port(after) == _local_port(response)  # the same TCP connection
    return detail[0] if loc else detail


def _batch_with(rows: list[dict], bad: dict) -> list[dict]:
    batch = [dict(row) for row in rows]
    batch[BAD_ROW] |= bad
    return batch


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _with_raw_field(row: dict, name: str, raw_json: bytes) -> bytes:
    """A row as JSON bytes with one field whose JSON is given as is."""
    body = orjson.dumps(row)
    return body[:-1] + b',"' + name.encode() + b'":' + raw_json + b"}"


# field of the bad row -> (value, what the message says)
BAD_VALUES = {
    "amt beyond float32": ("amt", 1e308, "<= 9999999999.99"),
    "amt just beyond float32": ("amt", 3.5e38, "<= 9999999999.99"),
    "cc_num of 2^63": ("cc_num", 2**63, "<= 9223372036854775807"),
    "NUL in trans_num": ("trans_num", "abc\x00def", "regex"),
    "NUL in category": ("category", "grocery_pos\x00", "regex"),
    "NUL in gender": ("gender", "\x00", "regex"),
    "trans_num of 1 MB": ("trans_num", "x" * 1_000_000, "length <= 64"),
    "transaction in year 1": ("trans_date_trans_time", "0001-01-01 00:00:00", "outside [1970-01-01, 2100-01-01)"),
    "transaction in year 9999": ("trans_date_trans_time", "9999-12-31 23:59:59", "outside [1970-01-01, 2100-01-01)"),
    "dob after the transaction": ("dob", "2019-01-02", "dob after trans_date_trans_time"),
    "dob in year 1": ("dob", "0001-01-01", "dob before 1900-01-01"),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_one_bad_row_refuses_the_batch_naming_row_and_field(api, rows, case):
    field, value, message = BAD_VALUES[case]
    bad = {field: value}
    if field == "dob":  # the sample's first rows are on 2019-01-01
        bad["trans_date_trans_time"] = "2019-01-01 12:00:00"
    response = api.post("/predict/raw/batch", params={"explain": "all"}, json=_batch_with(rows, bad))
    detail = _assert_refused_on_a_kept_connection(api, response, 422, ["body", BAD_ROW, field], rows)
    assert message in detail["msg"]

    single = api.post("/predict/raw", json=rows[BAD_ROW] | bad)
    assert _assert_refused_on_a_kept_connection(api, single, 422, ["body", field], rows)["msg"] == detail["msg"]


def test_deep_nesting_in_an_unknown_field_names_row_and_field(api, rows):
    parts = [orjson.dumps(row) for row in rows[:BAD_ROW]]
    parts.append(_with_raw_field(rows[BAD_ROW], "extra", _deep(5000)))
    parts += [orjson.dumps(row) for row in rows[BAD_ROW + 1:]]
    response = api.post("/predict/raw/batch", content=b"[" + b",".join(parts) + b"]",
                        headers={"content-type": "application/json"})
    detail = _assert_refused_on_a_kept_connection(api, response, 422, ["body", BAD_ROW, "extra"], rows)
    assert "nested too deeply" in detail["msg"]

    single = api.post("/predict/raw", content=_with_raw_field(rows[0], "extra", _deep(5000)),
                      headers={"content-type": "application/json"})
    _assert_refused_on_a_kept_connection(api, single, 422, ["body", "extra"], rows)


def test_shallow_nesting_in_an_unknown_field_is_ignored(api, rows):
    response = api.post("/predict/raw", content=_with_raw_field(rows[0], "extra", _deep(50)),
                        headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_a_repeated_trans_num_refuses_the_batch_naming_the_repeat(api, rows):
    batch = rows[:10] + [rows[BAD_ROW]]
    response = api.post("/predict/raw/batch", json=batch)
    detail = _assert_refused_on_a_kept_connection(api, response, 422, ["body", 10, "trans_num"], rows)
    assert "repeats" in detail["msg"]


def test_a_body_over_the_cap_is_refused_by_its_length_before_it_is_read(api, api_service, rows):
    cap = api_service.max_body_bytes
    body = b"[" + b" " * cap + b"]"
    response = api.post("/predict/raw/batch", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "API_MAX_BODY_BYTES" in response.json()["detail"]

    def streamed():  # no Content-Length: the server counts as it reads
        yield b"["
        for _ in range(cap // 65536 + 1):
            yield b" " * 65536
        yield b"]"

    response = api.post("/predict/raw", content=streamed(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert api.post("/predict/raw", json=rows[0]).status_code == 200


def test_too_many_rows_are_refused_before_they_are_decoded(api, api_service, rows):
    limit = api_service.api_batch_limit
    batch = [rows[i % len(rows)] | {"trans_num": f"many-{i}"} for i in range(limit + 1)]
    batch[-1] = {"trans_num": 1}  # decoding would stop here with a 422: the count answers first
    response = api.post("/predict/raw/batch", json=batch)
    detail = _assert_refused_on_a_kept_connection(api, response, 413, [], rows)
    assert detail == f"{limit + 1} transactions; at most {limit} per request (API_BATCH_LIMIT)"
