"""Failures of the audit store, each carrying a one-line message a person can act on."""

from __future__ import annotations


class AuditConfigError(ValueError):
    """ATTRITION_AUDIT_DB is malformed, unreachable at start-up, or at a schema this code cannot use."""


class AuditUnavailableError(RuntimeError):
    """The store has been failing for longer than its declared bound: answer 503, not unaudited."""


class AuditInputError(ValueError):
    """A bad request to the store (duration, employee id, decision); `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PredictionNotFoundError(LookupError):
    """A decision names a prediction the store does not hold (never made, purged or erased)."""
