"""The dashboard's figures on small known tables (tests/dashboard/helpers.py): exact values."""

import psycopg
import pytest

from fraudlake.dashboard import queries

from tests.dashboard.helpers import known_tables

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def conn(postgres_service):
    pool = queries.connection_pool(postgres_service)
    with psycopg.connect(postgres_service.conninfo(), autocommit=True) as writer:
        known_tables(writer)
        # Rows two hours old are "today" unless midnight (database time) came since.
        two_hours_ago_is_today = writer.execute(
            "SELECT now() - interval '2 hours' >= date_trunc('day', now())").fetchone()[0]
    with pool.connection() as conn:
        conn.two_hours_ago_is_today = int(two_hours_ago_is_today)
        yield conn
    pool.close()


def test_kpis(conn):
    today = conn.two_hours_ago_is_today
    assert queries.kpis(conn, window_hours=24) == {
        "transactions_today": 4 + today,
        "transactions_last_hour": 4,
        "predictions_today": 3 + today,
        "predictions_last_hour": 3,
        "predictions_in_window": 4,
        "frauds_in_window": 2,
        "frauds_by_level": {"LOW": 0, "MEDIUM": 1, "HIGH": 1},
        "fraud_rate": 0.5,
        "amount_at_risk": 150.5,
        "alerts": {"pending": 1, "sent": 1, "failed": 1, "disabled": 0},
    }


def test_a_wider_window_takes_in_the_older_fraud(conn):
    kpis = queries.kpis(conn, window_hours=48)
    assert (kpis["frauds_in_window"], kpis["amount_at_risk"], kpis["predictions_in_window"]) == (3, 1149.5, 5)
    assert kpis["frauds_by_level"]["HIGH"] == 2


def test_predictions_per_minute_by_level(conn):
    frame = queries.predictions_per_minute(conn, minutes=60)
    assert frame.groupby("risk_level")["predictions"].sum().to_dict() == {"HIGH": 1, "LOW": 1, "MEDIUM": 1}


def test_fraud_by_hour_of_the_transaction(conn):
    frame = queries.fraud_by_hour(conn, window_hours=24)
    assert frame["hour"].tolist() == list(range(24))
    assert frame.set_index("hour")["frauds"].to_dict() == {hour: 2 if hour == 3 else 0 for hour in range(24)}


def test_fraud_by_category(conn):
    frame = queries.fraud_by_category(conn, window_hours=24)
    assert frame.to_dict("records") == [{"category": "grocery_pos", "frauds": 1, "amount": 50.5},
                                        {"category": "shopping_net", "frauds": 1, "amount": 100.0}]


def test_amounts_of_fraud_and_latest_legitimate(conn):
    frame = queries.amounts(conn, window_hours=24, sample_rows=10)
    assert sorted(map(tuple, frame[["label", "amt"]].values.tolist())) == [
        ("fraud", 50.5), ("fraud", 100.0), ("legitimate", 10.0), ("legitimate", 20.0)]
    assert len(queries.amounts(conn, window_hours=48, sample_rows=1)) == 2  # at most one of each


def test_latency_sample_and_percentiles(conn):
    seconds = queries.latencies(conn, sample_rows=4)
    assert sorted(seconds.round(3)) == [1.0, 2.0, 3.0, 4.0]  # the latest four: t5 is the oldest
    assert queries.latency_percentiles(seconds) == {"p50": 2.5, "p99": pytest.approx(3.97)}
    assert queries.latency_percentiles(seconds.iloc[:0]) == {"p50": None, "p99": None}


def test_latest_alerts_newest_first_with_the_card_masked(conn):
    frame = queries.latest_alerts(conn, limit=10)
    assert frame["trans_num"].tolist() == ["t1", "t2", "t5"]
    first = frame.iloc[0]
    assert (first["level"], first["status"], first["amount"], first["category"], first["card"]) == (
        "HIGH", "sent", 100.0, "shopping_net", "•••• 1234")
    assert first["probability"] == 0.97
    assert first["top_features"] == "amt=100 (+2.50), category_shopping_net=1 (+0.75)"
    assert "4000000000001234" not in frame.to_string()
    assert queries.latest_alerts(conn, limit=1)["trans_num"].tolist() == ["t1"]


def test_transaction_detail(conn):
    detail = queries.transaction_detail(conn, "t2")
    assert (detail["card"], detail["risk_level"], detail["alert_status"], float(detail["amt"])) == (
        "•••• 1234", "MEDIUM", "pending", 50.5)
    unscored = queries.transaction_detail(conn, "t6")
    assert unscored["risk_level"] is None and unscored["alert_status"] is None
    assert queries.transaction_detail(conn, "nope") is None


def test_the_dashboard_connection_cannot_write(conn):
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM fraud_alerts")
