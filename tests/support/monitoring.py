"""Builders for the monitoring tests: a package carrying reference.json, and a live `attrition serve`.

`package_with_reference` does what the package stage will do once it calls
`attrition.modelpkg.reference.build_reference` (the lead wires that in): freeze the training rows'
profile and the decay baselines into the package, then rewrite the manifest. The baselines come from a
large fresh labelled sample of the package's dataset version, standing in for the evaluation-data stage
of issue 9 (a 160-row hold-out is too noisy to judge a 5 pp drop against).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attrition.audit.records import PredictionRow
from attrition.audit.writer import AuditStore
from attrition.dataset import FEATURES, holdout_split, read_dataset
from attrition.method.synthetic import generate_frame
from attrition.modelpkg.artifact import load_package, seal
from attrition.modelpkg.reference import REFERENCE_FILE, baselines_from_labelled, build_reference
from attrition.service.core.tokens import SCOPE_PREDICT, mint_token
from tests.support.service import free_port

SECRET = secrets.token_urlsafe(48)
START_TIMEOUT_S = 60.0
EVALUATION_ROWS = 20000
EVALUATION_SEED = 97  # never 1234 + version, the pipeline's training seed


def package_with_reference(package: Path, dataset_csv: Path, destination: Path) -> Path:
    """A copy of `package` with reference.json frozen from its training split, manifest rewritten."""
    copy = Path(shutil.copytree(package, destination))
    loaded = load_package(copy)
    split = loaded.metadata.params["train"]
    train, _ = holdout_split(
        read_dataset(dataset_csv), test_size=split["test_size"], seed=split["split_seed"]
    )
    version = loaded.metadata.dataset.version
    evaluation = generate_frame(version, EVALUATION_ROWS, seed=EVALUATION_SEED)
    baselines = baselines_from_labelled(
        evaluation["attrition"].to_numpy(),
        loaded.model.predict_proba(evaluation[FEATURES])[:, 1],
        loaded.decision_threshold,
        source=f"{EVALUATION_ROWS} fresh labelled rows of dataset version {version}",
        n=2000,
        seed=5,
    )
    document = build_reference(train, loaded.model.predict_proba(train[FEATURES])[:, 1], baselines)
    (copy / REFERENCE_FILE).write_text(json.dumps(document) + "\n", encoding="utf-8")
    seal(copy)
    return copy


def predict_token(ttl_s: int = 3600) -> str:
    return mint_token(SECRET, "monitor-test", [SCOPE_PREDICT], ttl_s)


def wait_until(probe: object, what: str, timeout_s: float = START_TIMEOUT_S, interval_s: float = 0.2) -> None:
    """Poll `probe()` until it is truthy; bounded in time (and so in count)."""
    assert callable(probe)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@dataclass(frozen=True)
class Service:
    url: str
    audit_db: Path
    token_file: Path


@contextlib.contextmanager
def serve(package: Path, scores: Path, workdir: Path) -> Iterator[Service]:
    """`attrition serve` on a free 127.0.0.1 port with its own audit store; SIGTERM (then kill) at exit."""
    import httpx

    port = free_port()
    audit_db = workdir / "audit.sqlite"
    token_file = workdir / "token"
    token_file.write_text(predict_token(), encoding="utf-8")
    env = {**os.environ, "ATTRITION_JWT_SECRET": SECRET, "ATTRITION_AUDIT_DB": str(audit_db)}
    command = [
        sys.executable,
        "-m",
        "attrition.cli",
        "serve",
        "--package",
        str(package),
        "--scores",
        str(scores),
    ]
    log = workdir / "serve.log"
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {log.read_text()}")
        try:
            return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, "attrition serve to be ready")
        yield Service(url, audit_db, token_file)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def scores_for(package: Path, dataset_csv: Path, out: Path) -> Path:
    """The score stage's batch scores for `package` (the service's fallback file)."""
    from attrition.pipeline.score import main as score_main

    assert score_main(["--package", str(package), "--data", str(dataset_csv), "--out", str(out)]) == 0
    return out


def audited_rows(
    rows: pd.DataFrame, probabilities: np.ndarray, *, model_version: str, threshold: float, ts: float
) -> list[PredictionRow]:
    """Audit rows as the service writes them, for stores built directly in unit tests."""
    return [
        PredictionRow.for_prediction(
            ts=ts,
            caller="tester",
            endpoint="/predict/batch",
            model_version=model_version,
            source="model",
            opt_out=False,
            employee_id=str(row["employee_id"]),
            inputs={name: row[name].item() if hasattr(row[name], "item") else row[name] for name in FEATURES},
            probability=float(probability),
            decision=bool(probability >= threshold),
        )
        for (_, row), probability in zip(rows.iterrows(), probabilities, strict=True)
    ]


def write_store(url: str, rows: list[PredictionRow]) -> None:
    """Commit `rows` to the audit store at `url` (created and migrated if needed)."""
    store = AuditStore(url)
    store.open()
    try:
        store.record_blocking(rows)
    finally:
        store.close()
