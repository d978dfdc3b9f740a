"""Small known tables for the dashboard tests: transactions, predictions and alerts
inserted directly (the prediction job is not needed to know what the page must show)."""

from __future__ import annotations

import json

import psycopg

# A transaction's columns the tests do not vary.
BASE = {"cc_num": 4000000000001234, "merchant": "fraud_Kirlin and Sons", "first": "Jen", "last": "Doe",
        "gender": "F", "street": "1 Main St", "city": "Springfield", "state": "IL", "zip": 62701,
        "lat": 39.8, "long": -89.6, "city_pop": 116000, "job": "Nurse", "dob": "1980-02-03",
        "unix_time": 1325376000, "merch_lat": 39.9, "merch_long": -89.5, "is_fraud": 0}


def clean(db: psycopg.Connection) -> None:
    db.execute("TRUNCATE transactions, transactions_quarantine, fraud_predictions, fraud_alerts CASCADE")


def add_transaction(db: psycopg.Connection, trans_num: str, *, amt: float, category: str = "shopping_net",
                    trans_time: str = "2019-01-01 03:10:00", age: str = "0 s") -> None:
    """A transaction committed `age` ago (a PostgreSQL interval)."""
    row = {**BASE, "trans_num": trans_num, "amt": amt, "category": category, "trans_date_trans_time": trans_time}
    columns = ", ".join(row)
    db.execute(f"INSERT INTO transactions ({columns}, created_at) "
               f"VALUES ({', '.join(f'%({c})s' for c in row)}, now() - %(age)s::interval)", {**row, "age": age})


def add_prediction(db: psycopg.Connection, trans_num: str, *, probability: float, level: str, latency_s: float,
                   top_features: list[dict] | None = None) -> None:
    """The prediction of a stored transaction, made `latency_s` after its commit."""
    db.execute(
        "INSERT INTO fraud_predictions (trans_num, fraud_probability, is_fraud_predicted, risk_level, model_version, "
        "transaction_created_at, predicted_at, top_features) "
        "SELECT trans_num, %s, %s, %s, 'test-model', created_at, created_at + make_interval(secs => %s), %s "
        "FROM transactions WHERE trans_num = %s",
        (probability, level != "LOW", level, latency_s, json.dumps(top_features or []), trans_num))


def add_alert(db: psycopg.Connection, trans_num: str, *, status: str, age: str = "0 s") -> None:
    db.execute("INSERT INTO fraud_alerts (trans_num, risk_level, status, created_at) "
               "SELECT trans_num, risk_level, %s, now() - %s::interval FROM fraud_predictions WHERE trans_num = %s",
               (status, age, trans_num))


def known_tables(db: psycopg.Connection) -> None:
    """Six transactions: two predicted frauds in the last hour (HIGH $100, MEDIUM $50.50, both at 03:xx),
    one legitimate now and one two hours ago, a HIGH fraud 30 hours ago (outside a 24 h window),
    and one not scored yet. Latencies 1 to 5 s; alerts sent, pending and failed."""
    clean(db)
    add_transaction(db, "t1", amt=100.0, category="shopping_net")
    add_transaction(db, "t2", amt=50.5, category="grocery_pos", trans_time="2019-01-01 03:40:00")
    add_transaction(db, "t3", amt=10.0, trans_time="2019-01-01 12:00:00")
    add_transaction(db, "t4", amt=20.0, trans_time="2019-01-01 13:00:00", age="2 hours")
    add_transaction(db, "t5", amt=999.0, trans_time="2019-01-01 22:00:00", age="30 hours")
    add_transaction(db, "t6", amt=5.0)
    add_prediction(db, "t1", probability=0.97, level="HIGH", latency_s=1.0,
                   top_features=[{"feature": "amt", "value": 100.0, "contribution": 2.5},
                                 {"feature": "category_shopping_net", "value": 1.0, "contribution": 0.75}])
    add_prediction(db, "t2", probability=0.6, level="MEDIUM", latency_s=2.0)
    add_prediction(db, "t3", probability=0.01, level="LOW", latency_s=3.0)
    add_prediction(db, "t4", probability=0.02, level="LOW", latency_s=4.0)
    add_prediction(db, "t5", probability=0.99, level="HIGH", latency_s=5.0)
    add_alert(db, "t1", status="sent")
    add_alert(db, "t2", status="pending", age="1 minute")
    add_alert(db, "t5", status="failed", age="30 hours")
