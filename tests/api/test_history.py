"""History lookup against a real PostgreSQL: serving features equal training features."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from .payloads import as_payload
from fraudlake.api import create_app
from fraudlake.api.deps import get_model
from fraudlake.api.history import HistoryRepository, HistoryUnavailable
from fraudlake.features import HISTORY_WINDOW, build_features
from fraudlake.producer.generator import generate
from fraudlake.schema import COLUMN_NAMES
from fraudlake.settings import ApiSettings

pytestmark = pytest.mark.stack

PREFIX = "apitest-"


@pytest.fixture
def stored(db):
    """Generated cards' transactions committed to `transactions` (ids unique to this test), removed afterwards."""
    frame = generate(3000, seed=11, customers=8, days=15).sort_values("trans_date_trans_time", kind="stable")
    frame = frame.reset_index(drop=True)
    frame["trans_num"] = PREFIX + frame["trans_num"]
    frame["cc_num"] = frame["cc_num"] % 10**12 + 9 * 10**15  # cards no other suite generates
    db.execute("DELETE FROM transactions WHERE trans_num LIKE %s", (PREFIX + "%",))
    with db.cursor().copy(f"COPY transactions ({', '.join(COLUMN_NAMES)}) FROM STDIN") as copy:
        for row in frame[list(COLUMN_NAMES)].itertuples(index=False):
            copy.write_row(row)
    yield frame
    db.execute("DELETE FROM transactions WHERE trans_num LIKE %s", (PREFIX + "%",))


@pytest.fixture
def repository(postgres_service):
    repo = HistoryRepository(postgres_service, ApiSettings())
    repo.pool.open(wait=True)
    yield repo
    repo.close()


def _window_rows(stored: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """What the lookup must return: each batch card's rows from HISTORY_WINDOW before its
    earliest batch transaction to before its latest, other than the batch's own."""
    bounds = batch.groupby("cc_num")["trans_date_trans_time"].agg(["min", "max"])
    rows = stored[~stored["trans_num"].isin(batch["trans_num"])].join(bounds, on="cc_num", how="inner")
    inside = (rows["trans_date_trans_time"] >= rows["min"] - HISTORY_WINDOW) & (rows["trans_date_trans_time"] < rows["max"])
    return rows.loc[inside, ["cc_num", "trans_date_trans_time", "amt"]]


def _sorted(rows) -> pd.DataFrame:
    frame = pd.DataFrame({name: rows[name] for name in ("cc_num", "trans_date_trans_time", "amt")})
    frame["trans_date_trans_time"] = frame["trans_date_trans_time"].astype("datetime64[s]")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_lookup_gives_the_window_and_the_training_features(stored, repository):
    training = build_features(stored)
    # The job scores rows already committed; the batch is the latest 300 of them.
    batch = stored.iloc[-300:]
    history = repository.fetch(batch)
    expected = _window_rows(stored, batch)
    assert len(expected) > 300  # earlier rows come from the database, and the batch's own do not
    pd.testing.assert_frame_equal(_sorted(history), _sorted(expected))
    pd.testing.assert_frame_equal(build_features(batch, history), training.loc[batch.index])


def test_lookup_of_rows_not_yet_committed(stored, repository, db):
    """A client scoring new transactions: history is all in the database, none of the batch is."""
    batch = stored.iloc[-50:]
    db.execute("DELETE FROM transactions WHERE trans_num = ANY(%s)", (batch["trans_num"].tolist(),))
    history = repository.fetch(batch)
    pd.testing.assert_frame_equal(_sorted(history), _sorted(_window_rows(stored, batch)))
    pd.testing.assert_frame_equal(build_features(batch, history), build_features(stored).loc[batch.index])


def test_api_scores_with_database_history(stored, tiny_model, postgres_service):
    settings = ApiSettings(api_history_lookup=True)
    app = create_app(settings)
    app.dependency_overrides[get_model] = lambda: tiny_model
    batch = stored.iloc[-100:]
    with TestClient(app, headers=settings.auth_headers()) as client:
        health = client.get("/health").json()
        assert health["database"]["ok"] is True and "PostgreSQL" in health["database"]["detail"]
        single = client.post("/predict/raw", json=as_payload(batch.iloc[[-1]])[0]).json()
        body = client.post("/predict/raw/batch", json=as_payload(batch)).json()
    expected = tiny_model.score(stored).probabilities[-100:]
    assert [p["fraud_probability"] for p in body] == pytest.approx(expected.tolist(), rel=1e-6)
    assert single["fraud_probability"] == pytest.approx(float(expected[-1]), rel=1e-6)


def test_unreachable_database_is_503_not_a_crash(tiny_model, sample, postgres_service):
    unreachable = postgres_service.model_copy(update={"postgres_port": 1})
    repo = HistoryRepository(unreachable, ApiSettings(), connect_timeout=1)
    repo.open()
    with pytest.raises(HistoryUnavailable):
        repo.fetch(sample.head(2))
    settings = ApiSettings(api_history_lookup=False)
    app = create_app(settings)
    app.dependency_overrides[get_model] = lambda: tiny_model
    with TestClient(app, headers=settings.auth_headers()) as client:
        app.state.history = repo
        response = client.post("/predict/raw", json=as_payload(sample.iloc[[0]])[0])
        assert response.status_code == 503 and "unreachable" in response.json()["detail"]
        assert client.get("/health").status_code == 503
    repo.close()
