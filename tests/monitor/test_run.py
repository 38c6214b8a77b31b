"""`attrition monitor` end to end on a real package and an audit store in the service's schema."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from attrition.dataset import FEATURES
from attrition.method.synthetic import generate_frame
from attrition.modelpkg.artifact import MANIFEST, load_package, manifest_text
from attrition.monitor.run import main
from attrition.monitor.simulate import draw_population, outcomes_csv
from tests.support.monitoring import audited_rows, package_with_reference, write_store


@pytest.fixture(scope="module")
def package(model_package: Path, dataset_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_with_reference(model_package, dataset_csv, tmp_path_factory.mktemp("ref") / "pkg")


def _traffic(package: Path, tmp: Path, version: int, rows: int, seed: int) -> tuple[Path, Path]:
    """An audit store of `rows` employees of dataset `version` scored by the package, and their outcomes."""
    loaded = load_package(package)
    frame = draw_population(version, rows, seed)
    probabilities = loaded.model.predict_proba(frame[FEATURES])[:, 1]
    db = tmp / "audit.sqlite"
    write_store(
        str(db),
        audited_rows(
            frame,
            probabilities,
            model_version=loaded.model_version,
            threshold=loaded.decision_threshold,
            ts=time.time() - 60,
        ),
    )
    outcomes = tmp / "outcomes.csv"
    outcomes.write_text(outcomes_csv(frame, datetime.now(UTC)))
    return db, outcomes


def _run(package: Path, db: Path, outcomes: Path, tmp: Path, *extra: str) -> tuple[int, dict, str]:
    out, prom = tmp / "monitoring.json", tmp / "monitor.prom"
    inputs = ["--package", str(package), "--audit-db", str(db), "--outcomes", str(outcomes)]
    code = main([*inputs, "--out", str(out), "--prom", str(prom), "--params", "params.yaml", *extra])
    return (
        code,
        json.loads(out.read_text()) if out.exists() else {},
        prom.read_text() if prom.exists() else "",
    )


def _verdicts(document: dict) -> dict[tuple[str, str, str], str]:
    return {(c["check"], c["subject"], c["window"]): c["verdict"] for c in document["checks"]}


def test_same_population_raises_no_alert(package: Path, tmp_path: Path) -> None:
    db, outcomes = _traffic(package, tmp_path, 3, 1000, seed=71)
    code, document, prom = _run(package, db, outcomes, tmp_path)
    assert code == 0, document["summary"]
    assert document["summary"]["drift"] == "ok"
    assert document["summary"]["decay"] == "ok"
    assert document["summary"]["fairness"] == "insufficient_data"  # ~170 positives over three bands
    assert document["counts"]["joined"] == 1000
    precision = next(c for c in document["checks"] if c["subject"] == "precision")
    assert precision["figures"]["support"] > 50 and None not in precision["figures"]["ci95"]
    families = {f.name: f for f in text_string_to_metric_families(prom)}
    (stamp,) = families["attrition_monitor_last_success_timestamp_seconds"].samples
    assert abs(stamp.value - time.time()) < 600
    verdict = {
        (s.labels["check"], s.labels["subject"], s.labels["window"], s.labels["verdict"]): s.value
        for s in families["attrition_monitor_verdict"].samples
    }
    assert verdict[("drift", "monthly_income", "1d", "ok")] == 1
    assert verdict[("drift", "monthly_income", "1d", "alert")] == 0


def test_version_8_population_alerts_on_income_and_confirms_precision_decay(
    package: Path, tmp_path: Path
) -> None:
    db, outcomes = _traffic(package, tmp_path, 8, 2000, seed=72)
    marker = tmp_path / "retrained"
    on_decay = f"{sys.executable} -c \"open('{marker}', 'w').write('retrain')\""
    code, document, _ = _run(package, db, outcomes, tmp_path, "--on-decay", on_decay)
    assert code == 1
    verdicts = _verdicts(document)
    assert verdicts[("drift", "monthly_income", "1d")] == "alert"
    assert verdicts[("decay", "precision", "90d")] == "alert"
    assert document["on_decay"]["exit_code"] == 0 and marker.read_text() == "retrain"


def test_a_failing_retraining_command_exits_3(package: Path, tmp_path: Path) -> None:
    db, outcomes = _traffic(package, tmp_path, 8, 2000, seed=73)
    code, document, _ = _run(
        package, db, outcomes, tmp_path, "--on-decay", f"{sys.executable} -c 'raise SystemExit(4)'"
    )
    assert code == 3 and document["on_decay"]["exit_code"] == 4


def test_without_decay_the_retraining_command_does_not_run(package: Path, tmp_path: Path) -> None:
    db, outcomes = _traffic(package, tmp_path, 3, 600, seed=74)
    marker = tmp_path / "retrained"
    _, document, _ = _run(package, db, outcomes, tmp_path, "--on-decay", f"touch {marker}")
    assert document["on_decay"] is None and not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("since", "--since: invalid duration '3 months'"),
        ("package", "no reference.json"),
        ("outcomes", "--outcomes"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    package: Path,
    package_copy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: str,
    message: str,
) -> None:
    db, outcomes = _traffic(package, tmp_path, 3, 50, seed=75)
    extra = ["--since", "3 months"] if change == "since" else []
    if change == "package":  # a package from before reference.json existed
        (package_copy / "reference.json").unlink()
        (package_copy / MANIFEST).write_text(manifest_text(package_copy))
    code, document, prom = _run(
        package_copy if change == "package" else package,
        db,
        tmp_path / "absent.csv" if change == "outcomes" else outcomes,
        tmp_path,
        *extra,
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert document == {} and prom == ""


def test_rows_of_other_models_do_not_enter_decay(package: Path, tmp_path: Path) -> None:
    db, outcomes = _traffic(package, tmp_path, 8, 2000, seed=76)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE predictions SET model_version = 'v1-older'")
    code, document, _ = _run(package, db, outcomes, tmp_path)
    assert document["counts"]["joined"] == 0
    assert document["summary"]["decay"] == "insufficient_data"
    assert _verdicts(document)[("drift", "monthly_income", "1d")] == "alert"  # the population still drifted
    assert code == 1


def test_generate_frame_is_the_population_source() -> None:
    frame = draw_population(8, 5, seed=9)
    assert frame[FEATURES].equals(generate_frame(8, 5, seed=9)[FEATURES])
    assert frame["employee_id"].is_unique


def test_the_store_comes_from_the_services_variable_or_its_file(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chart's CronJob passes no --audit-db: a URL with a password stays out of argv (issue 27)."""
    db, outcomes = _traffic(package, tmp_path, 3, 600, 31)
    out, prom = tmp_path / "monitoring.json", tmp_path / "monitor.prom"
    args = ["--package", str(package), "--outcomes", str(outcomes), "--out", str(out), "--prom", str(prom)]
    for name in ("ATTRITION_AUDIT_DB", "ATTRITION_AUDIT_DB_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main([*args, "--params", "params.yaml"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "ATTRITION_AUDIT_DB_FILE" in error and not out.exists()
    url_file = tmp_path / "audit-db"
    url_file.write_text(f"{db}\n")
    monkeypatch.setenv("ATTRITION_AUDIT_DB_FILE", str(url_file))
    assert main([*args, "--params", "params.yaml"]) == 0
    assert json.loads(out.read_text())["counts"]["employees_predicted"] == 600


def test_a_past_now_judges_only_the_rows_before_it_and_a_rerun_repeats_it(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--now is a scheduler's logical date: version-8 traffic 30 days ago drifts and decays as of then;
    version-3 traffic since (after --now) stays out; the same --now again gives the same checks."""
    loaded = load_package(package)
    then = time.time() - 30 * 86400
    rows = []
    for version, seed, ts in ((8, 81, then - 60), (3, 82, time.time() - 60)):
        frame = draw_population(version, 2000, seed)
        probabilities = loaded.model.predict_proba(frame[FEATURES])[:, 1]
        rows += audited_rows(
            frame,
            probabilities,
            model_version=loaded.model_version,
            threshold=loaded.decision_threshold,
            ts=ts,
        )
        if version == 8:
            outcomes = tmp_path / "outcomes.csv"
            outcomes.write_text(outcomes_csv(frame, datetime.fromtimestamp(then, UTC)))
    db = tmp_path / "audit.sqlite"
    write_store(str(db), rows)
    as_of = datetime.fromtimestamp(then, UTC).isoformat(timespec="seconds")

    code, first, _ = _run(package, db, outcomes, tmp_path, "--now", as_of)
    assert first["as_of"] == as_of
    assert first["counts"]["employees_predicted"] == 2000  # the 2,000 version-3 rows came after --now
    assert _verdicts(first)[("drift", "monthly_income", "1d")] == "alert"
    assert first["summary"]["decay"] == "alert" and code == 1
    _, again, _ = _run(package, db, outcomes, tmp_path, "--now", as_of)
    assert again["checks"] == first["checks"] and again["counts"] == first["counts"]

    _, today, _ = _run(package, db, outcomes, tmp_path)  # now: only the version-3 rows are recent
    assert _verdicts(today)[("drift", "monthly_income", "1d")] == "ok"
    # both populations are within the 90-day labelled window; the outcomes label the version-8 ones
    assert today["counts"]["employees_predicted"] == 4000 and today["counts"]["joined"] == 2000

    capsys.readouterr()
    code, document, prom = _run(package, db, outcomes, tmp_path / "bad", "--now", "yesterday")
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --now 'yesterday' is not an ISO 8601 time")
    assert err.count("\n") == 1 and document == {} and prom == ""


def test_before_the_labels_the_month_is_estimated_and_says_calibration_is_unchecked(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24: no outcome yet, so decay has nothing to read; the month's recall and precision are
    estimated from the scores with intervals, as checks, figures and Prometheus series."""
    db, _ = _traffic(package, tmp_path, 3, 1500, seed=77)
    outcomes = tmp_path / "no-outcomes.csv"
    outcomes.write_text("employee_id,attrition,observed_at\n")
    code, document, prom = _run(package, db, outcomes, tmp_path)
    assert document["summary"]["decay"] == "insufficient_data"
    assert document["summary"]["calibration"] == "insufficient_data"
    estimates = [c for c in document["checks"] if c["check"] == "estimate"]
    assert sorted(c["subject"] for c in estimates) == ["precision", "recall"]
    for check in estimates:
        low, high = check["figures"]["ci95"]
        assert low < check["figures"]["value"] < high and check["verdict"] == "ok"
        assert check["figures"]["trust"] == "calibration_unchecked" and not check["figures"]["trusted"]
    (month,) = document["performance_by_month"]
    assert month["rows"] == 1500 and month["labelled"] == 0 and month["realized"] is None
    families = {f.name: f for f in text_string_to_metric_families(prom)}
    bounds = {
        (s.labels["metric"], s.labels["bound"]) for s in families["attrition_monitor_estimated_rate"].samples
    }
    assert bounds == {(m, b) for m in ("recall", "precision") for b in ("value", "low", "high")}
    out = capsys.readouterr().out
    assert "calibration unchecked" in out and "estimate=ok" in out and code == 0


def test_labelled_month_shows_realized_beside_estimated_and_calibration_holds(
    package: Path, tmp_path: Path
) -> None:
    db, outcomes = _traffic(package, tmp_path, 3, 3000, seed=78)
    _, document, prom = _run(package, db, outcomes, tmp_path)
    assert {c["subject"]: c["verdict"] for c in document["checks"] if c["check"] == "calibration"} == {
        "recall": "ok",
        "precision": "ok",
    }
    assert not [c for c in document["checks"] if c["check"] == "estimate"]  # the month is labelled
    (month,) = document["performance_by_month"]
    for metric in ("recall", "precision"):
        error = month["estimated"][metric]["value"] - month["realized"][metric]["value"]
        assert abs(error) < 0.08, (metric, month)
    assert "attrition_monitor_realized_rate" in prom and "attrition_monitor_calibration_ratio" in prom
