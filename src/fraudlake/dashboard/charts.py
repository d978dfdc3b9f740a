"""The dashboard's charts, as Altair specifications built from the query functions' frames
(Streamlit draws Altair natively; nothing here touches the database or the page)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from fraudlake.risk import RiskLevel

# One colour per level, everywhere a level is drawn.
LEVEL_COLOURS = alt.Scale(domain=[level.value for level in RiskLevel], range=["#4c9f70", "#f2a541", "#d1495b"])
LABEL_COLOURS = alt.Scale(domain=["legitimate", "fraud"], range=["#4c78a8", "#d1495b"])


def predictions_per_minute(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame, title="Predictions per minute by risk level").mark_bar().encode(
        x=alt.X("minute:T", title=None),
        y=alt.Y("predictions:Q", title="predictions", stack=True),
        color=alt.Color("risk_level:N", scale=LEVEL_COLOURS, title="level"),
        tooltip=["minute:T", "risk_level:N", "predictions:Q"])


def fraud_by_hour(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame, title="Predicted frauds by hour of day").mark_bar(color="#d1495b").encode(
        x=alt.X("hour:O", title="hour of the transaction"),
        y=alt.Y("frauds:Q", title="frauds"),
        tooltip=["hour:O", "frauds:Q"])


def fraud_by_category(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame, title="Predicted frauds by category").mark_bar(color="#d1495b").encode(
        x=alt.X("frauds:Q", title="frauds"),
        y=alt.Y("category:N", sort="-x", title=None),
        tooltip=["category:N", "frauds:Q", alt.Tooltip("amount:Q", format=",.2f")])


def amount_distribution(frame: pd.DataFrame) -> alt.Chart:
    """Amounts on a log scale: card amounts span cents to thousands, and frauds sit high."""
    return alt.Chart(frame.assign(log_amount=np.log10(frame["amt"].clip(lower=0.01))),
                     title="Amount: predicted fraud vs legitimate").transform_density(
        "log_amount", groupby=["label"], as_=["log_amount", "density"]).mark_area(opacity=0.5).encode(
        x=alt.X("log_amount:Q", title="amount (log10 $)"),
        y=alt.Y("density:Q", title="density", stack=None),
        color=alt.Color("label:N", scale=LABEL_COLOURS, title=None))


def latency_histogram(seconds: pd.Series, percentiles: dict[str, float | None]) -> alt.LayerChart:
    """Commit → prediction latency, with the p50 and p99 marked."""
    bars = alt.Chart(pd.DataFrame({"seconds": seconds}), title="Commit → prediction latency").mark_bar().encode(
        x=alt.X("seconds:Q", bin=alt.Bin(maxbins=40), title="seconds"),
        y=alt.Y("count():Q", title="predictions"))
    marks = pd.DataFrame([{"percentile": name, "seconds": value} for name, value in percentiles.items()
                          if value is not None])
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3], color="#d1495b").encode(
        x="seconds:Q", tooltip=["percentile:N", alt.Tooltip("seconds:Q", format=".2f")])
    return alt.layer(bars, rules)
