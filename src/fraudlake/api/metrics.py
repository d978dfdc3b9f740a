"""Prometheus metrics of one app instance (its own registry, so apps made in tests do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, Info

from fraudlake.risk import RiskLevel

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ApiMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "fraudlake_api_request_seconds", "Time to score a request, by endpoint.", ["endpoint"],
            buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_rows = Histogram(
            "fraudlake_api_batch_rows", "Transactions per scoring request.",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000), registry=self.registry)
        self.scored = Counter(
            "fraudlake_api_transactions_scored", "Transactions scored, by risk level.", ["risk_level"], registry=self.registry)
        self.history_seconds = Histogram(
            "fraudlake_api_history_lookup_seconds", "Time of the PostgreSQL history query.",
            buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.history_unavailable = Counter(
            "fraudlake_api_history_unavailable", "Requests refused because PostgreSQL was unreachable.", registry=self.registry)
        self.model = Info("fraudlake_api_model", "The model being served.", registry=self.registry)
        for level in RiskLevel:  # every level appears from the start, so rates work before the first HIGH
            self.scored.labels(level.value)
