"""The Streamlit page: three tabs (fraud, pipeline health, producer), each a fragment
that re-reads its figures every DASHBOARD_REFRESH_SECONDS without reloading the page.

Only layout lives here: the figures come from `queries`, `health` and
`producer_control`, the pictures from `charts`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import psycopg_pool
import streamlit as st

from fraudlake import settings as cfg
from fraudlake.dashboard import charts, queries
from fraudlake.dashboard.health import pipeline_health
from fraudlake.dashboard.producer_control import ProducerBusy, ProducerControl
from fraudlake.risk import RiskLevel

STREAM_GENERATED = "Stream generated rows"
STREAM_FILE = "Stream a CSV file"
LOAD_FILE = "Bulk-load a CSV file"
MESSAGE = "producer-message"  # session key of the answer to the last Start


@st.cache_resource
def _pool() -> psycopg_pool.ConnectionPool:
    return queries.connection_pool(cfg.get_postgres_settings())


def main() -> None:
    st.set_page_config(page_title="fraudlake", page_icon="💳", layout="wide")
    settings = cfg.get_dashboard_settings()
    st.title("fraudlake — live fraud, alerts and pipeline health")
    fraud_tab, health_tab, producer_tab = st.tabs(["Fraud", "Pipeline health", "Producer"])
    every = settings.dashboard_refresh_seconds
    with fraud_tab:
        st.fragment(run_every=every)(fraud_view)(settings)
    with health_tab:
        st.fragment(run_every=every)(health_view)()
    with producer_tab:
        st.fragment(run_every=every)(producer_view)(settings)


def fraud_view(settings: cfg.DashboardSettings) -> None:
    try:
        with _pool().connection(timeout=5) as conn:
            kpis = queries.kpis(conn, settings.dashboard_window_hours)
            per_minute = queries.predictions_per_minute(conn)
            by_hour = queries.fraud_by_hour(conn, settings.dashboard_window_hours)
            by_category = queries.fraud_by_category(conn, settings.dashboard_window_hours)
            amounts = queries.amounts(conn, settings.dashboard_window_hours, settings.dashboard_sample_rows)
            latencies = queries.latencies(conn, settings.dashboard_sample_rows)
            alerts = queries.latest_alerts(conn, settings.dashboard_alert_rows)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        st.warning(f"PostgreSQL is not answering ({exc}); the figures come back when it does.")
        return
    window = f"{settings.dashboard_window_hours} h"
    _kpi_row([("Transactions today", f"{kpis['transactions_today']:,}"),
              ("Transactions last hour", f"{kpis['transactions_last_hour']:,}"),
              ("Predictions today", f"{kpis['predictions_today']:,}"),
              ("Predictions last hour", f"{kpis['predictions_last_hour']:,}"),
              (f"Fraud rate ({window})", f"{kpis['fraud_rate']:.2%}"),
              (f"Amount at risk ({window})", f"${kpis['amount_at_risk']:,.2f}")])
    _kpi_row([(f"Predicted frauds ({window})", f"{kpis['frauds_in_window']:,}")]
             + [(f"{level} ({window})", f"{kpis['frauds_by_level'][level]:,}")
                for level in reversed(RiskLevel.MEDIUM.levels_from())]  # every predicted fraud is MEDIUM or HIGH
             + [(f"Alerts {status}", f"{kpis['alerts'][status]:,}") for status in ("sent", "pending", "failed")])
    if kpis["alerts"]["disabled"]:
        st.caption(f"{kpis['alerts']['disabled']:,} alerts recorded without sending (SLACK_WEBHOOK_URL is empty).")

    left, right = st.columns(2)
    left.altair_chart(charts.predictions_per_minute(per_minute), use_container_width=True)
    percentiles = queries.latency_percentiles(latencies)
    right.altair_chart(charts.latency_histogram(latencies, percentiles), use_container_width=True)
    right.caption("Latest {:,} predictions: p50 {} · p99 {}".format(
        len(latencies), *(f"{percentiles[p]:.2f} s" if percentiles[p] is not None else "–" for p in ("p50", "p99"))))
    left, middle, right = st.columns(3)
    left.altair_chart(charts.fraud_by_hour(by_hour), use_container_width=True)
    middle.altair_chart(charts.fraud_by_category(by_category), use_container_width=True)
    right.altair_chart(charts.amount_distribution(amounts), use_container_width=True)

    st.subheader("Latest alerts")
    selection = st.dataframe(alerts, hide_index=True, use_container_width=True, on_select="rerun",
                             selection_mode="single-row", key="alerts",
                             column_config={"probability": st.column_config.ProgressColumn(min_value=0, max_value=1),
                                            "amount": st.column_config.NumberColumn(format="$%.2f")})
    rows = selection.selection.rows if selection else []
    if rows and rows[0] < len(alerts):
        trans_num = alerts.iloc[rows[0]]["trans_num"]
        with _pool().connection(timeout=5) as conn:
            detail = queries.transaction_detail(conn, trans_num)
        st.markdown(f"**Transaction `{trans_num}`**")
        st.json({key: str(value) if not isinstance(value, list | dict) else value for key, value in detail.items()}
                if detail else {})


def _kpi_row(items: list[tuple[str, str]]) -> None:
    for column, (label, value) in zip(st.columns(len(items)), items, strict=True):
        column.metric(label, value)


def health_view() -> None:
    health = pipeline_health(cfg.get_kafka_settings(), cfg.get_api_settings())
    api = health.api
    left, middle, right = st.columns(3)
    left.metric("Prediction API", api["status"])
    middle.metric("Model version", api.get("model_version") or "–")
    right.metric("Topic end offsets (total)", f"{sum(health.end_offsets.values()):,}" if health.end_offsets else "–")
    if api.get("risk_bands"):
        st.caption("Risk bands: " + ", ".join(f"{level} ≥ {value:.3f}" for level, value in api["risk_bands"].items()))
    if api.get("error"):
        st.caption(f"API: {api['error']}")
    st.subheader("Components")
    st.dataframe(health.components, hide_index=True, use_container_width=True)
    if health.end_offsets:
        st.caption("End offsets: " + " ".join(f"p{p}={o:,}" for p, o in health.end_offsets.items()))
    st.subheader("Streaming jobs")
    if health.queries.empty:
        st.info("No streaming job has reported progress yet.")
    else:
        st.dataframe(health.queries, hide_index=True, use_container_width=True)


def producer_view(settings: cfg.DashboardSettings) -> None:
    control = ProducerControl(cfg.get_path_settings())
    state = control.state()
    if state.command:
        # A run without final counts was killed, not stopped: its figures end at its last report.
        verb = "Running" if state.running else "Ended" if state.finished else "Interrupted"
        st.markdown(f"**{verb}:** `fraudlake producer {state.command}`")
        sent, rate, elapsed, skipped = st.columns(4)
        sent.metric("Rows sent", f"{state.sent:,}")
        rate.metric("Rate (rows/s)", f"{state.rate:,.1f}")
        elapsed.metric("Elapsed", f"{state.elapsed:,.1f} s")
        skipped.metric("Skipped / quarantined", f"{state.skipped:,} / {state.quarantined:,}")
    else:
        st.markdown("No producer run yet.")
    if st.button("Stop", disabled=not state.running, key="producer-stop"):
        control.stop()
        st.session_state.pop(MESSAGE, None)
        st.rerun(scope="fragment")

    files = sorted(settings.dashboard_csv_dir.glob("*.csv"))
    with st.form("producer-start"):
        mode = st.radio("What", [STREAM_GENERATED, STREAM_FILE, LOAD_FILE], horizontal=True)
        tps = st.number_input("Rate (rows per second, streams)", min_value=0.1,
                              value=float(cfg.get_producer_settings().producer_stream_tps), step=1.0)
        csv = st.selectbox(f"CSV file (in {settings.dashboard_csv_dir})", files, format_func=lambda path: path.name)
        offset = st.number_input("Start offset (rows to skip)", min_value=0, value=0, step=100)
        limit = st.number_input("Records limit (0: all)", min_value=0, value=0, step=100)
        if st.form_submit_button("Start"):
            # Kept in the session: the next refresh of this fragment would otherwise wipe it at once.
            st.session_state[MESSAGE] = _start(control, mode, tps, csv, int(offset), int(limit) or None)
            st.rerun(scope="fragment")
    if MESSAGE in st.session_state:
        message = st.session_state[MESSAGE]
        (st.success if message == "Started." else st.error)(message)


def _start(control: ProducerControl, mode: str, tps: float, csv: Path | None, offset: int, limit: int | None) -> str:
    """Start what the form asks for; what to tell the user."""
    if mode != STREAM_GENERATED and csv is None:
        return "Not started: no CSV file to read; put Kaggle-format files in DASHBOARD_CSV_DIR."
    try:
        if mode == STREAM_GENERATED:
            control.start_stream(tps=tps)
        elif mode == STREAM_FILE:
            control.start_stream(tps=tps, csv=csv, offset=offset, limit=limit)
        else:
            control.start_load(csv, offset=offset, limit=limit)
    except ProducerBusy as exc:
        return f"Not started: {exc}"
    return "Started."
