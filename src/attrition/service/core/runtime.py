"""What the running service holds: the current model (one immutable object), batch scores, the online
feature store, audit.

A reload builds a complete new ModelState off the event loop and then rebinds a single attribute.
A request reads `runtime.current` once and uses that object to the end, so in-flight requests
finish on the model they started with and no request ever sees half a swap.

The collaborators (token verifier factory, audit store, metrics, model and scores loaders) are
passed in, so a test hands in its own instead of patching module globals; `build_runtime` wires
the production ones from the settings. The online feature store is swapped the same way as the model
(one reference, read once per request), and also whenever its file changes; a file that fails to
load leaves the previous store serving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine

from attrition.audit.database import one_line
from attrition.audit.records import PredictionRow
from attrition.audit.writer import AuditStore, StoreHealth
from attrition.service.core.batch_scores import BatchScores, load_batch_scores
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.model_state import ModelState, load_model_state
from attrition.service.core.oidc import ProviderKeys
from attrition.service.core.online_features import OnlineFeaturesLoadError, file_stamp, load_online_store
from attrition.service.core.tokens import TokenVerifier
from attrition.service.settings import ServiceSettings

if TYPE_CHECKING:  # imported with the first file loaded (see core/online_features.py)
    from attrition.features.online import OnlineStore

log = logging.getLogger("attrition.service")

ModelLoader = Callable[[Path], ModelState]
ScoresLoader = Callable[[Path], BatchScores]
OnlineLoader = Callable[[Path], "OnlineStore"]
VerifierFactory = Callable[[], TokenVerifier]


class AuditSink(Protocol):
    """What the runtime needs from the audit store; attrition.audit.writer.AuditStore is the one.

    `record` returns only once the rows are committed (raising AuditUnavailableError when they
    cannot be), so a handler that awaits it before answering never answers unaudited.
    """

    def start(self) -> None: ...

    async def record(self, rows: Sequence[PredictionRow]) -> None: ...

    def health(self) -> StoreHealth: ...

    def request_purge(self, older_than_s: float) -> Future[int]: ...

    def close(self) -> None: ...

    @property
    def engine(self) -> Engine: ...


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: whether it swapped, what served before, and a one-line detail."""

    reloaded: bool
    previous_version: str | None
    detail: str


def settle_heap() -> None:
    """Move what start-up or a reload built out of the cyclic garbage collector's way.

    The long-lived objects (modules, the model, its explanation tables, the batch scores, the online
    store) sit in the oldest generation, which every full collection walks; a /predict/batch of 100
    allocates enough to trigger one every few requests, tens of milliseconds each: batch p99 73 ms
    against a p50 of 8 ms, 19 ms with the heap frozen (bench/bench_overhead.py, 2026-12-04).
    gc.freeze() puts them in a generation collections skip; unfreezing first lets what a reload
    replaced be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class ServiceRuntime:
    """Everything a request needs; created with its collaborators, started in the app's lifespan."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        metrics: ServiceMetrics,
        audit: AuditSink,
        verifier_factory: VerifierFactory,
        model_loader: ModelLoader = load_model_state,
        scores_loader: ScoresLoader = load_batch_scores,
        online_loader: OnlineLoader = load_online_store,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.audit = audit
        self._verifier_factory = verifier_factory
        self._model_loader = model_loader
        self._scores_loader = scores_loader
        self._online_loader = online_loader
        self.verifier = verifier_factory()  # a missing secret fails here, before serving anything
        self.current: ModelState | None = None
        self.load_error: str | None = "not started"
        self.scores = BatchScores()
        self.generation = 0  # bumped on every model swap (the OpenAPI role enum follows it)
        self.online: OnlineStore | None = None  # swapped whole; a request reads it once
        self.online_error: str | None = None  # why the last load failed, in public (fixed) wording
        self._online_stamp: tuple[int, int, int] | None = None  # the file as last loaded (or tried)
        self._reload_lock = asyncio.Lock()
        self._online_lock = asyncio.Lock()

    def start(self) -> None:
        """Open the audit store (AuditConfigError stops start-up) and load model + scores.

        A bad package leaves fallback mode; a bad audit store leaves nothing to serve from.
        """
        self.audit.start()
        self.scores = self._scores_loader(self.settings.scores)
        if self.scores.error:
            log.warning("batch scores unavailable: %s", self.scores.error)
        if self.settings.online_features is not None:
            self._load_online("start-up", counted=False)
        try:
            self._install(self._model_loader(self.settings.package))
        except Exception as error:  # any failure to load means: serve batch scores, not ready
            self.load_error = one_line(error)
            self.metrics.set_model(None)
            log.error("model not loaded, serving batch-score fallback only: %s", self.load_error)
        settle_heap()

    def stop(self) -> None:
        """Commit what is still queued (every waiting request then answers) and close the store."""
        self.audit.close()

    def _install(self, state: ModelState) -> None:
        self.current = state  # the single reference swap
        self.load_error = None
        self.generation += 1
        self.metrics.set_model(state.model_version)
        log.info(
            "serving model %s from %s (scorer: %s)",
            state.model_version,
            state.package_path,
            state.scorer.reason,
        )

    async def reload(self, trigger: str) -> ReloadOutcome:
        """Re-read secrets, verify and swap in the package at the configured path; then reload the
        online feature file (whatever the model's outcome: it is independent of the package).

        On any failure the old model and the old token key stay in service.
        """
        outcome = await self._reload_model(trigger)
        if self.settings.online_features is not None:
            await self.reload_online_features(trigger)
        return outcome

    async def _reload_model(self, trigger: str) -> ReloadOutcome:
        async with self._reload_lock:
            previous = self.current.model_version if self.current else None
            try:
                verifier = await asyncio.to_thread(self._verifier_factory)
                state = await asyncio.to_thread(self._model_loader, self.settings.package)
            except Exception as error:
                reason = one_line(error)
                self.metrics.reloads.labels("failed").inc()
                log.error("reload (%s) failed, still serving %s: %s", trigger, previous or "no model", reason)
                return ReloadOutcome(False, previous, reason)
            self.verifier = verifier  # a rotated secret file takes effect here
            self.scores = await asyncio.to_thread(self._scores_loader, self.settings.scores)
            self._install(state)
            settle_heap()
            self.metrics.reloads.labels("ok").inc()
            log.info("reload (%s) done, now serving %s", trigger, state.model_version)
            return ReloadOutcome(True, previous, f"now serving {state.model_version} ({trigger})")

    def _load_online(self, trigger: str, *, counted: bool = True) -> bool:
        """Load the online feature file and swap it in; on failure keep the previous store serving.

        Blocking (it reads the whole file): the event loop calls it through reload_online_features.
        `counted`: a reload (the reload metric counts it), not the start-up load.
        """
        path = self.settings.online_features
        assert path is not None
        stamp = file_stamp(path)  # before reading: a change during the read is seen on the next check
        previous = self.online
        try:
            store = self._online_loader(path)
        except Exception as error:  # any unreadable file: keep serving what was loaded before
            self._online_stamp = stamp
            self.online_error = (
                error.public if isinstance(error, OnlineFeaturesLoadError) else "the file could not be loaded"
            )
            if counted:
                self.metrics.online_features_reloads.labels("failed").inc()
            still = "no online features" if previous is None else _describe(previous)
            log.error(
                "online features (%s) not loaded, still serving %s: %s", trigger, still, one_line(error)
            )
            return False
        self._online_stamp = stamp
        self.online = store  # the single reference swap
        self.online_error = None
        settle_heap()
        self.metrics.set_online_features(store.table_version, store.as_of)
        if counted:
            self.metrics.online_features_reloads.labels("ok").inc()
        log.info("online features (%s): serving %s from %s", trigger, _describe(store), path)
        return True

    async def reload_online_features(self, trigger: str) -> bool:
        """Load the online feature file now (off the event loop); False when it failed to load."""
        async with self._online_lock:
            return await asyncio.to_thread(self._load_online, trigger)

    async def watch_online_features(self) -> None:
        """Reload the online feature file whenever it changes (replaced, rewritten, created); until
        cancelled. One stat per interval, as for the reload trigger file."""
        path = self.settings.online_features
        if path is None:
            return
        while True:
            await asyncio.sleep(self.settings.online_features_interval_s)
            if file_stamp(path) != self._online_stamp:
                await self.reload_online_features(f"{path.name} changed")

    async def watch_reload_trigger(self) -> None:
        """Reload whenever `reload_trigger_file` changes (created, touched or rewritten); until cancelled.

        Polling its modification time, size and inode costs one stat per interval and works on every volume
        type (inotify does not see updates of Kubernetes' projected and emptyDir-backed secret files).
        """
        path = self.settings.reload_trigger_file
        if path is None:
            return
        seen = file_stamp(path)
        while True:
            await asyncio.sleep(self.settings.reload_trigger_interval_s)
            stamp = file_stamp(path)
            if stamp != seen:
                seen = stamp
                await self.reload(f"trigger file {path.name}")

    async def watch_identity_provider(self) -> None:
        """Refresh the OpenID provider's keys when due (off the loop); until cancelled. Returns at once
        without a provider. Checking every second costs nothing: ProviderKeys decides when to fetch."""
        while True:
            keys: ProviderKeys | None = getattr(self.verifier, "provider_keys", None)  # a reload swaps it
            if keys is None:
                return
            await asyncio.to_thread(keys.refresh_if_due)
            await asyncio.sleep(min(self.settings.oidc_jwks_refresh_s, 1.0))

    async def purge_forever(self) -> None:
        """Scheduled retention purge, first run at start-up; runs until cancelled."""
        settings = self.settings
        while True:
            try:
                deleted = await asyncio.wrap_future(
                    self.audit.request_purge(settings.audit_retention_days * 86400)
                )
                self.metrics.audit_purged.inc(deleted)
                if deleted:
                    log.info(
                        "audit purge removed %d records older than %g days",
                        deleted,
                        settings.audit_retention_days,
                    )
            except Exception as error:  # keep purging on schedule even after one failure
                log.error("scheduled audit purge failed: %s", error)
            await asyncio.sleep(settings.audit_purge_interval_s)


def _describe(store: OnlineStore) -> str:
    """An online store in a log line: its origin and size, never an employee."""
    return (
        f"online features of table version {store.table_version} as of {store.as_of} "
        f"({len(store)} active employees)"
    )


def provider_keys(settings: ServiceSettings) -> ProviderKeys | None:
    """The OpenID provider's keys when ATTRITION_OIDC_ISSUER is set (nothing fetched yet)."""
    if settings.oidc_issuer is None:
        return None
    return ProviderKeys(
        settings.oidc_issuer,
        refresh_s=settings.oidc_jwks_refresh_s,
        min_refetch_s=settings.oidc_jwks_min_refetch_s,
        max_stale_s=settings.oidc_jwks_max_stale_s,
        timeout_s=settings.oidc_http_timeout_s,
    )


def token_verifier(settings: ServiceSettings, keys: ProviderKeys | None = None) -> TokenVerifier:
    """A verifier with the key the settings name now (re-read from its file on every call), or with
    the provider's `keys` (one object for the runtime's life: a reload keeps the cached keys)."""
    audience, issuer = settings.required_claims()
    return TokenVerifier(
        keys if keys is not None else settings.verification_key(),
        settings.oidc_algorithms if keys is not None else settings.jwt_algorithm,
        audience=audience,
        issuer=issuer,
        max_lifetime_s=settings.jwt_max_lifetime_s,
        leeway_s=settings.jwt_leeway_s,
        max_token_bytes=settings.max_token_bytes,
        cache_size=settings.token_cache_size,
    )


def build_runtime(
    settings: ServiceSettings,
    *,
    model_loader: ModelLoader = load_model_state,
    scores_loader: ScoresLoader = load_batch_scores,
    online_loader: OnlineLoader = load_online_store,
) -> ServiceRuntime:
    """The production wiring: the settings' audit store, a fresh metrics registry, the settings' key."""
    metrics = ServiceMetrics()
    keys = provider_keys(settings)
    return ServiceRuntime(
        settings,
        metrics=metrics,
        audit=AuditStore(
            settings.audit_location(),
            outage_bound_s=settings.audit_outage_bound_s,
            on_committed=metrics.audit_written.inc,
            loop_commits=settings.audit_loop_commits,
        ),
        verifier_factory=lambda: token_verifier(settings, keys),
        model_loader=model_loader,
        scores_loader=scores_loader,
        online_loader=online_loader,
    )
