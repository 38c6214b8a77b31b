"""The issue's loop, as far as this branch's pieces reach: serve the version-3 model, send it version-3
traffic (no alert), then version-8 traffic (income drift alert and confirmed precision decay, which
starts the retraining command). The retraining/gate half needs issue 9's `make retrain` and gate: it is
`test_loop_retraining_and_gate_decide`, for the lead to complete when the registry lands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from attrition.monitor import run, simulate
from tests.support.monitoring import Service, package_with_reference, scores_for, serve


def _simulate(service: Service, version: int, rows: int, seed: int, outcomes: Path) -> None:
    code = simulate.main(
        [
            *("--population-version", str(version), "--rows", str(rows), "--seed", str(seed)),
            *("--url", service.url, "--token-file", str(service.token_file), "--outcomes", str(outcomes)),
        ]
    )
    assert code in (0, 1)  # 1 while the service still refuses tenure > age - 16 (parity, reported)
    service.wait_audited()


def _monitor(package: Path, service: Service, outcomes: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = run.main(
        [
            *("--package", str(package), "--audit-db", str(service.audit_db), "--outcomes", str(outcomes)),
            *("--out", str(out), "--prom", str(out.with_suffix(".prom")), "--params", "params.yaml", *extra),
        ]
    )
    return code, json.loads(out.read_text())


def _verdict(document: dict, check: str, subject: str, window: str) -> dict:
    return next(
        c for c in document["checks"] if (c["check"], c["subject"], c["window"]) == (check, subject, window)
    )


@pytest.mark.integration
def test_loop_same_population_is_quiet_then_version_8_drifts_and_decays(
    model_package: Path, dataset_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = package_with_reference(model_package, dataset_csv, tmp_path / "pkg")
    with serve(package, scores_for(package, dataset_csv, tmp_path / "scores.csv"), tmp_path) as service:
        _simulate(service, 3, 1000, 3001, tmp_path / "outcomes_v3.csv")
        code, quiet = _monitor(
            package, service, tmp_path / "outcomes_v3.csv", tmp_path / "monitoring_v3.json"
        )
        assert code == 0, quiet["summary"]
        assert all(c["verdict"] in ("ok", "insufficient_data") for c in quiet["checks"])

        _simulate(service, 8, 2000, 8001, tmp_path / "outcomes_v8.csv")
        marker = tmp_path / "retraining-started"
        retrain = f"{sys.executable} -c \"open('{marker}', 'w').write('make retrain VERSION=8')\""
        code, drifted = _monitor(
            package,
            service,
            tmp_path / "outcomes_v8.csv",
            tmp_path / "monitoring_v8.json",
            "--on-decay",
            retrain,
        )
    print(capsys.readouterr().out)  # the figures the loop printed, kept in the test log
    income = _verdict(drifted, "drift", "monthly_income", "1d")
    precision = _verdict(drifted, "decay", "precision", "90d")
    assert code == 1
    assert income["verdict"] == "alert" and income["figures"]["psi"] > 1.0
    assert precision["verdict"] == "alert"
    assert precision["figures"]["ci95"][1] < precision["figures"]["baseline"]["value"]
    assert drifted["on_decay"]["exit_code"] == 0 and marker.exists()


@pytest.mark.integration
def test_loop_retraining_and_gate_decide() -> None:
    """TO COMPLETE WHEN ISSUE 9 LANDS (the lead): after the decay above, `--on-decay "make retrain VERSION=8"`
    trains a version-8 candidate and the gate decides. Pass: `attrition deploy` reloads the service and a
    further version-8 window shows no drift against the new package's reference.json. Fail: the candidate
    stays in staging with the gate's reasons, the service keeps serving v3 and the drift alert stays.
    Print the gate's verdict either way; cover both branches (e.g. force a fail with a shuffled-label
    candidate)."""
    pytest.importorskip("attrition.gate", reason="needs issue 9's registry and gate (engineer G)")
    pytest.fail("attrition.gate exists now: complete this test as its docstring says")
