"""What the running service holds: the current model (one immutable object), batch scores, audit.

A reload builds a complete new :class:`ModelState` off the event loop and then rebinds a single
attribute. A request reads `holder.current` once and uses that object to the end, so in-flight
requests finish on the model they started with and no request ever sees half a swap.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from attrition.dataset import FEATURES
from attrition.service.audit import AuditStore
from attrition.service.auth import TokenVerifier
from attrition.service.fast_scorer import CompiledScorer, PipelineScorer, build_scorer
from attrition.service.metrics import ServiceMetrics
from attrition.service.settings import ServiceSettings

log = logging.getLogger("attrition.service")


@dataclass(frozen=True)
class ModelState:
    """A verified package and its scorer; never mutated after construction."""

    model_version: str
    decision_threshold: float
    job_roles: tuple[str, ...]
    role_set: frozenset[str]
    scorer: CompiledScorer | PipelineScorer
    package_path: Path
    loaded_at: float


@dataclass(frozen=True)
class BatchScoreRow:
    """One line of the nightly scores CSV."""

    probability: float
    decision: bool
    model_version: str


@dataclass(frozen=True)
class BatchScores:
    """All nightly scores by employee id (immutable; replaced wholesale on reload)."""

    rows: dict[str, BatchScoreRow] = field(default_factory=dict)
    error: str | None = None

    def get(self, employee_id: str | None) -> BatchScoreRow | None:
        """The score for `employee_id`, if there is one."""
        return None if employee_id is None else self.rows.get(employee_id)


def load_model_state(package_dir: Path) -> ModelState:
    """Verify (manifest before unpickling) and load a package, then compile its scorer.

    Raises attrition.artifact.PackageError with a one-line reason on any failure.
    """
    from attrition import artifact

    package = artifact.load_package(package_dir)
    artifact.check_predictions(package)  # the recorded sample probabilities must reproduce here too
    check_rows = [sample.profile for sample in package.contents.samples]
    scorer = build_scorer(package.model, FEATURES, check_rows)
    roles = tuple(package.job_roles)
    return ModelState(
        model_version=package.model_version,
        decision_threshold=package.decision_threshold,
        job_roles=roles,
        role_set=frozenset(roles),
        scorer=scorer,
        package_path=package_dir,
        loaded_at=time.time(),
    )


def _parse_decision(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(f"decision {text!r} is not 0/1/true/false")


def load_batch_scores(path: Path) -> BatchScores:
    """Read the score stage's CSV; a missing or broken file gives empty scores plus a reason."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows: dict[str, BatchScoreRow] = {}
            for number, record in enumerate(reader, 2):
                try:
                    probability = float(record["attrition_probability"])
                    if not 0.0 <= probability <= 1.0:
                        raise ValueError(f"probability {probability} outside [0, 1]")
                    rows[record["employee_id"]] = BatchScoreRow(
                        probability, _parse_decision(record["decision"]), record["model_version"]
                    )
                except (KeyError, TypeError, ValueError) as error:
                    return BatchScores(error=f"{path}: line {number}: {error}")
    except OSError as error:
        return BatchScores(error=f"{path}: {error.strerror or error}")
    return BatchScores(rows=rows)


class ServiceRuntime:
    """Everything a request needs, created by create_app and started in its lifespan."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.metrics = ServiceMetrics()
        self.verifier = TokenVerifier(
            settings.verification_key(),
            settings.jwt_algorithm,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            cache_size=settings.token_cache_size,
        )
        self.audit = AuditStore(settings.audit_db, on_written=self.metrics.audit_written.inc)
        self.current: ModelState | None = None
        self.load_error: str | None = "not started"
        self.scores = BatchScores()
        self._reload_lock = asyncio.Lock()
        self.openapi_invalidated = False

    def start(self) -> None:
        """Open the audit store and load model + scores; a bad package leaves fallback mode."""
        self.audit.start()
        self.scores = load_batch_scores(self.settings.scores)
        if self.scores.error:
            log.warning("batch scores unavailable: %s", self.scores.error)
        try:
            self._install(load_model_state(self.settings.package))
        except Exception as error:  # any failure to load means: serve batch scores, not ready
            self.load_error = _one_line(error)
            self.metrics.set_model(None)
            log.error("model not loaded, serving batch-score fallback only: %s", self.load_error)

    def stop(self) -> None:
        """Drain the audit queue to disk."""
        self.audit.close()

    def _install(self, state: ModelState) -> None:
        self.current = state  # the single reference swap
        self.load_error = None
        self.openapi_invalidated = True
        self.metrics.set_model(state.model_version)
        log.info(
            "serving model %s from %s (scorer: %s)",
            state.model_version,
            state.package_path,
            state.scorer.reason,
        )

    async def reload(self, trigger: str) -> tuple[bool, str | None, str]:
        """Verify and swap in the package at the configured path.

        Returns (reloaded, previous_version, one-line detail). On failure the old model stays.
        """
        async with self._reload_lock:
            previous = self.current.model_version if self.current else None
            try:
                state = await asyncio.to_thread(load_model_state, self.settings.package)
            except Exception as error:
                reason = _one_line(error)
                self.metrics.reloads.labels("failed").inc()
                log.error("reload (%s) failed, still serving %s: %s", trigger, previous or "no model", reason)
                return False, previous, reason
            self.scores = await asyncio.to_thread(load_batch_scores, self.settings.scores)
            self._install(state)
            self.metrics.reloads.labels("ok").inc()
            return True, previous, f"now serving {state.model_version} ({trigger})"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
