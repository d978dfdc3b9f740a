"""Transactions as API clients send them."""

from __future__ import annotations

import json

import pandas as pd


def as_payload(frame: pd.DataFrame) -> list[dict]:
    """Rows as a client sends them: JSON with the Kaggle text formats."""
    out = frame.copy()
    out["trans_date_trans_time"] = out["trans_date_trans_time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out["dob"] = out["dob"].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records"))
