"""Every Prometheus metric the service exports, in a per-app registry (prometheus-client only).

A per-app registry means several apps in one process (tests) never collide. The HTTP middleware
that feeds the request metrics lives in the api layer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LOOKUP_OUTCOMES = ("found", "unknown", "terminated", "unavailable")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """Every metric the service exports, with label children cached for the hot path."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "attrition_http_requests",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "attrition_http_request_duration_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "attrition_predictions",
            "Employees scored, by model version and source",
            ["model_version", "source"],
            registry=r,
        )
        self.fallbacks = Counter(
            "attrition_fallbacks",
            "Predictions answered from batch scores, by reason",
            ["reason"],
            registry=r,
        )
        self.connections_refused = Counter(
            "attrition_connections_refused",
            "Connections closed by the server before the application saw a request (an oversized or "
            "slow head, a body still arriving after its answer), by reason",
            ["reason"],
            registry=r,
        )
        self.validation_errors = Counter(
            "attrition_validation_errors",
            "Requests refused as invalid input (4xx), by endpoint",
            ["endpoint"],
            registry=r,
        )
        self.model_loaded = Gauge("attrition_model_loaded", "1 when a verified model is serving", registry=r)
        self.model_info = Gauge(
            "attrition_model_info",
            "The serving model version (value 1)",
            ["model_version"],
            registry=r,
        )
        self.reloads = Counter(
            "attrition_model_reloads", "Reload attempts by outcome", ["outcome"], registry=r
        )
        self.audit_written = Counter(
            "attrition_audit_records_written", "Audit rows committed to the audit store", registry=r
        )
        self.audit_refusals = Counter(
            "attrition_audit_refusals",
            "Requests answered 503 because the audit store could not commit (fail closed), by endpoint",
            ["endpoint"],
            registry=r,
        )
        self.audit_purged = Counter(
            "attrition_audit_records_purged", "Audit records deleted by purges", registry=r
        )
        self.feature_lookups = Counter(
            "attrition_feature_lookups",
            "Employee ids looked up in the online feature store, by outcome (found, unknown, terminated, "
            "unavailable: no store configured or loaded)",
            ["outcome"],
            registry=r,
        )
        self.online_features_loaded = Gauge(
            "attrition_online_features_loaded", "1 when an online feature store is serving", registry=r
        )
        self.online_features_version = Gauge(
            "attrition_online_features_table_version",
            "Delta table version of the online feature store serving (0 until one is loaded: see "
            "attrition_online_features_loaded)",
            registry=r,
        )
        self.online_features_as_of = Gauge(
            "attrition_online_features_as_of_timestamp_seconds",
            "The date the serving online features describe, as unix seconds (alert on its age)",
            registry=r,
        )
        self.online_features_reloads = Counter(
            "attrition_online_features_reloads",
            "Loads of a changed online feature file by outcome",
            ["outcome"],
            registry=r,
        )
        self._lookup_children = {outcome: self.feature_lookups.labels(outcome) for outcome in LOOKUP_OUTCOMES}
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._prediction_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        key = (endpoint, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(endpoint, method, status)
        child.inc()
        latency = self._latency_children.get(endpoint)
        if latency is None:
            latency = self._latency_children[endpoint] = self.latency.labels(endpoint)
        latency.observe(seconds)

    def count_predictions(self, model_version: str, source: str, n: int = 1) -> None:
        """Count scored employees."""
        key = (model_version, source)
        child = self._prediction_children.get(key)
        if child is None:
            child = self._prediction_children[key] = self.predictions.labels(model_version, source)
        child.inc(n)

    def set_model(self, model_version: str | None) -> None:
        """Point the model gauges at the version now serving (or none)."""
        self.model_info.clear()
        if model_version is None:
            self.model_loaded.set(0)
        else:
            self.model_loaded.set(1)
            self.model_info.labels(model_version).set(1)

    def count_lookup(self, outcome: str) -> None:
        """Count one online-store lookup (an outcome of LOOKUP_OUTCOMES)."""
        self._lookup_children[outcome].inc()

    def set_online_features(self, table_version: int, as_of: date) -> None:
        """Point the online-store gauges at the store now serving (a failed load leaves them as they are:
        the previous store keeps serving)."""
        self.online_features_loaded.set(1)
        self.online_features_version.set(table_version)
        self.online_features_as_of.set(datetime.combine(as_of, time(), UTC).timestamp())
