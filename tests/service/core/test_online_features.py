"""The online feature store at serving: loaded whole (or refused with a public reason), looked up by id in
memory, swapped on reload and when its file changes, the previous store kept when a new file is broken."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from attrition.features.online import OnlineStore
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.model_state import ModelLoadError, ModelState
from attrition.service.core.online_features import (
    EmployeeLeftError,
    EmployeeUnknownError,
    OnlineFeaturesLoadError,
    OnlineFeaturesUnavailableError,
    ResolvedFeatures,
    load_online_store,
    resolve_features,
)
from attrition.service.core.runtime import ServiceRuntime
from attrition.service.schemas import EmployeeFeatures
from attrition.service.settings import ServiceSettings
from tests.service.online_files import ACTIVE, AS_OF, online_bytes, replace_file, write_online
from tests.support.service import SAMPLE_EMPLOYEE, SECRET, ListAudit

LOOKUP_P99_BOUND_S = 0.002  # the budget for the lookup inside the service


def _by_id(employee_id: str) -> EmployeeFeatures:
    return EmployeeFeatures.model_validate({"employee_id": employee_id})


def _lookups(metrics: ServiceMetrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("attrition_feature_lookups_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def store(tmp_path: Path) -> OnlineStore:
    return load_online_store(write_online(tmp_path / "online.json.gz"))


def test_a_materialized_file_loads_with_its_origin(store: OnlineStore) -> None:
    assert (store.table_version, store.as_of, len(store)) == (7, AS_OF, 2)
    assert store.get("E000001") == ACTIVE["E000001"]


@pytest.mark.parametrize(
    ("content", "public"),
    [
        (None, "the file does not exist"),
        (b"PAR1", "not a readable gzip-compressed JSON file"),
        (b"", "not a readable gzip-compressed JSON file"),
        (online_bytes()[:-20], "not a readable gzip-compressed JSON file"),  # a copy cut short
        (gzip.compress(b"<html>", mtime=0), "not a readable gzip-compressed JSON file"),  # same id per worker
    ],
)
def test_an_unreadable_file_has_a_public_reason_and_a_detail_for_the_log(
    tmp_path: Path, content: bytes | None, public: str
) -> None:
    path = tmp_path / "online.json.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(OnlineFeaturesLoadError) as error:
        load_online_store(path)
    assert error.value.public == public
    assert str(error.value).count(str(path)) == 1 and str(path) not in error.value.public
    assert "\n" not in str(error.value)


def test_a_directory_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(OnlineFeaturesLoadError) as error:
        load_online_store(tmp_path)
    assert error.value.public == "the file could not be read"


@pytest.mark.parametrize(
    "document",
    [
        {"employee_id": ["E1"], "age": [40]},  # JSON, gzip, but another file
        {**json.loads(gzip.decompress(online_bytes())), "table_version": "seven"},
        {**json.loads(gzip.decompress(online_bytes())), "left": {"employee_id": ["E2"]}},
    ],
)
def test_a_json_gzip_file_that_is_not_an_online_file_is_named_so(
    tmp_path: Path, document: dict[str, object]
) -> None:
    path = tmp_path / "other.json.gz"
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    with pytest.raises(OnlineFeaturesLoadError) as error:
        load_online_store(path)
    assert error.value.public == "not an online feature file (attrition features materialize)"
    assert str(error.value).startswith(f"{path}: ") and str(error.value).count(str(path)) == 1
    assert "\n" not in str(error.value)


_WITHOUT_SCIENTIFIC_STACK = """
import sys
from pathlib import Path
for name in ("pyarrow", "numpy", "pandas", "deltalake", "duckdb", "sklearn", "scipy"):
    sys.modules[name] = None  # as in the serving image: importing any of them fails
import attrition.service.app  # the service imports without them
from attrition.service.core.online_features import load_online_store
store = load_online_store(Path(sys.argv[1]))
print(store.table_version, store.get("E000001"))
from attrition.features.online import TerminatedEmployee
try:
    store.get("E000002")
except TerminatedEmployee as error:
    print(error.termination_date)
"""


def test_the_serving_image_reads_online_files_without_pyarrow_numpy_or_pandas(tmp_path: Path) -> None:
    """The serving image installs none of them (deploy/docker/requirements-serve.txt): loading a file
    and looking ids up must not import them."""
    path = write_online(tmp_path / "online.json.gz")
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SCIENTIFIC_STACK, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"7 {ACTIVE['E000001']}", "2024-02-20"]


def test_sent_features_pass_through_and_ids_alone_are_looked_up(store: OnlineStore) -> None:
    metrics = ServiceMetrics()
    sent = EmployeeFeatures.model_validate({**SAMPLE_EMPLOYEE, "employee_id": "E000002"})
    resolved = resolve_features(
        [sent, _by_id("E000001")], store, configured=True, metrics=metrics, batch=True
    )
    assert resolved == [
        ResolvedFeatures(SAMPLE_EMPLOYEE, "request"),  # an id with features is not looked up, even a leaver's
        ResolvedFeatures(ACTIVE["E000001"], "online_store", 7, AS_OF),
    ]
    assert _lookups(metrics, "found") == 1
    # No model loaded: the batch scores answer by id, so nothing is looked up (nor counted).
    skipped = resolve_features(
        [_by_id("E999")], None, configured=False, metrics=metrics, batch=False, look_up=False
    )
    assert skipped == [ResolvedFeatures(None, None)]
    assert sum(_lookups(metrics, o) for o in ("found", "unknown", "terminated", "unavailable")) == 1


def test_refusals_say_why_and_where(store: OnlineStore) -> None:
    metrics = ServiceMetrics()

    def refusal(employee_id: str, store: OnlineStore | None, configured: bool = True) -> Exception:
        employees = [EmployeeFeatures.model_validate(SAMPLE_EMPLOYEE), _by_id(employee_id)]
        with pytest.raises(Exception) as raised:
            resolve_features(employees, store, configured=configured, metrics=metrics, batch=True)
        return raised.value

    unknown = refusal("E404", store)
    assert isinstance(unknown, EmployeeUnknownError)
    assert str(unknown).startswith(
        "employees[1]: employee E404 is not in the online feature store (as of 2024-03-31"
    )
    left = refusal("E000002", store)
    assert isinstance(left, EmployeeLeftError)
    assert str(left).startswith("employees[1]: employee E000002 left on 2024-02-20")
    unset = refusal("E000001", None, configured=False)
    assert isinstance(unset, OnlineFeaturesUnavailableError) and not unset.configured and unset.index == 1
    assert "ATTRITION_ONLINE_FEATURES is not set" in str(unset)
    not_loaded = refusal("E000001", None)
    assert isinstance(not_loaded, OnlineFeaturesUnavailableError) and not_loaded.configured
    assert [_lookups(metrics, o) for o in ("found", "unknown", "terminated", "unavailable")] == [0, 1, 1, 2]


def test_the_lookup_p99_is_far_below_two_milliseconds() -> None:
    """A dict access per id: measured on a store of 50,000 employees, through the request's own path."""
    features = ACTIVE["E000001"]
    store = OnlineStore({f"E{i:06d}": dict(features) for i in range(50_000)}, {}, AS_OF, 7, AS_OF)
    metrics = ServiceMetrics()
    employees = [[_by_id(f"E{i * 37 % 50_000:06d}")] for i in range(5000)]
    durations = []
    for employee in employees:
        started = time.perf_counter()
        resolve_features(employee, store, configured=True, metrics=metrics, batch=False)
        durations.append(time.perf_counter() - started)
    durations.sort()
    p99 = durations[int(len(durations) * 0.99)]
    assert p99 < LOOKUP_P99_BOUND_S / 10, f"lookup p99 {p99 * 1e6:.0f} us"


# --- the runtime: load at start-up, reload, watch the file ----------------------------------------------
def _no_model(path: Path) -> ModelState:
    raise ModelLoadError("no package in these tests")


class CountingLoader:
    """load_online_store, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path) -> OnlineStore:
        self.calls += 1
        return load_online_store(path)


def _runtime(path: Path, loader: CountingLoader | None = None) -> ServiceRuntime:
    settings = ServiceSettings(
        jwt_secret=SECRET,
        audit_db=str(path.parent / "audit.sqlite"),
        online_features=path,
        online_features_interval_s=0.01,
        scores=path.parent / "none.csv",
    )
    return ServiceRuntime(
        settings,
        metrics=ServiceMetrics(),
        audit=ListAudit(),
        verifier_factory=lambda: None,
        model_loader=_no_model,
        online_loader=loader or load_online_store,
    )


def test_a_broken_file_at_start_up_leaves_no_store_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "online.json.gz"
    path.write_bytes(b"not gzip")
    runtime = _runtime(path)
    runtime.start()
    assert runtime.online is None and runtime.online_error == "not a readable gzip-compressed JSON file"
    assert runtime.metrics.registry.get_sample_value("attrition_online_features_loaded") == 0


def test_a_reload_swaps_the_store_and_a_broken_file_keeps_the_previous_one(tmp_path: Path) -> None:
    path = write_online(tmp_path / "online.json.gz")
    runtime = _runtime(path)
    runtime.start()
    first = runtime.online
    assert first is not None and first.table_version == 7 and runtime.online_error is None
    write_online(path, version=8, as_of=date(2024, 4, 30))
    assert asyncio.run(runtime.reload_online_features("test")) is True
    assert runtime.online is not None and runtime.online.table_version == 8
    second = runtime.online
    replace_file(path, online_bytes()[:100])  # truncated
    assert asyncio.run(runtime.reload_online_features("test")) is False
    assert runtime.online is second and runtime.online_error == "not a readable gzip-compressed JSON file"
    sample = runtime.metrics.registry.get_sample_value
    assert sample("attrition_online_features_table_version") == 8
    assert sample("attrition_online_features_reloads_total", {"outcome": "ok"}) == 1
    assert sample("attrition_online_features_reloads_total", {"outcome": "failed"}) == 1


def test_the_watcher_loads_a_replaced_file_once(tmp_path: Path) -> None:
    path = write_online(tmp_path / "online.json.gz")
    loader = CountingLoader()
    runtime = _runtime(path, loader)
    runtime.start()
    assert loader.calls == 1

    async def scenario() -> None:
        reloaded = asyncio.Event()  # the handshake: set once the watcher's reload has swapped (or not)
        reload = runtime.reload_online_features

        async def observed(trigger: str) -> bool:
            try:
                return await reload(trigger)
            finally:
                reloaded.set()

        runtime.reload_online_features = observed
        watcher = asyncio.get_running_loop().create_task(runtime.watch_online_features())
        try:
            replace_file(path, online_bytes(version=9))
            await asyncio.wait_for(reloaded.wait(), 10)
            assert runtime.online is not None and runtime.online.table_version == 9
            assert loader.calls == 2
        finally:
            watcher.cancel()
            with pytest.raises(asyncio.CancelledError):
                await watcher

    asyncio.run(scenario())
