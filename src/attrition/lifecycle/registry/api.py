"""The registry's policy as functions: propose, promote, rollback. Nothing here prints.

* propose: refuse unless git and DVC agree with HEAD and everything is pushed, then register HEAD
  with its lineage JSON in the tag and assign `staging`;
* promote: the gate's three steps on the fetched packages (load, judge, record), and a `prod`
  assignment only on pass or on a recorded --force: :func:`judge_promotion` loads and judges,
  :func:`record_promotion` writes gate.json and the assignment tag that carries the gate's record;
* rollback: deprecate the current prod assignment, so GTO's readers take the previous prod version.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from attrition.lifecycle.gate.load import GateInputs, load_inputs
from attrition.lifecycle.gate.record import judged_document, write_document
from attrition.lifecycle.lineage import PACKAGE_OUT, RUNS_DIR, lock_outputs
from attrition.lifecycle.registry.gto import (
    ARTIFACT,
    Registry,
    RegistryError,
    previous_prod,
    version_rows,
)
from attrition.modelpkg.artifact import METADATA_FILE, PackageError, check_manifest
from attrition.params import Params, ParamsError, load_params

FIRST_PROD = "none: first production version"

# --- propose -------------------------------------------------------------------------------------


def check_publishable(registry: Registry) -> None:
    """Refuse unless git and DVC agree with HEAD and everything HEAD names is on the remotes."""
    dirty = registry.git("status", "--porcelain", "--untracked-files=no")
    if dirty:
        raise RegistryError(f"uncommitted changes ({dirty.splitlines()[0].strip()}); commit them first")
    if registry.dvc_status():
        raise RegistryError(
            "workspace outputs differ from dvc.lock (`dvc status`); run `dvc repro` and commit"
        )
    if registry.dvc_status(cloud=True):
        raise RegistryError("outputs are not all on the DVC remote; run `dvc push`")
    if registry.has_origin and not registry.git("branch", "-r", "--contains", "HEAD"):
        raise RegistryError("HEAD is not on origin; run `git push` first")


def lock_outs(lock: dict[str, Any]) -> dict[str, str]:
    """Every output path in a parsed dvc.lock with its md5 (lineage.lock_outputs, across stages)."""
    return {path: md5 or "" for stage in lock_outputs(lock).values() for path, md5 in stage["outs"].items()}


def data_origin(dataset: dict[str, Any]) -> dict[str, Any]:
    """For rows from the feature store (data.source hris): the table they were read from, and its label.

    Seed data adds nothing, so registrations of seed models keep exactly their former fields.
    """
    store = dataset.get("feature_store")
    if not store:
        return {}
    keys = ("store", "table_version", "as_of")
    return {"label": f"t{store['table_version']}", "feature_store": {key: store.get(key) for key in keys}}


def build_lineage(
    metadata: dict[str, Any],
    lock: dict[str, Any],
    *,
    commit: str,
    committed_at: str,
    build_records: dict[str, Any],
) -> dict[str, Any]:
    """What the registration tag carries: the package's identity, data, metrics and how it was built."""
    outs = lock_outs(lock)
    version = metadata.get("dataset", {}).get("version")
    return {
        "artifact": ARTIFACT,
        "model_version": metadata.get("model_version"),
        "package_md5": outs.get(PACKAGE_OUT),
        "evalset": {"path": f"data/evalset_v{version}.csv", "md5": outs.get(f"data/evalset_v{version}.csv")},
        "dataset": {
            **{key: metadata.get("dataset", {}).get(key) for key in ("version", "md5", "rows", "positives")},
            **data_origin(metadata.get("dataset", {})),
        },
        "model": {key: metadata.get("model", {}).get(key) for key in ("family", "hyperparameters", "sha256")},
        "decision_threshold": metadata.get("decision_threshold"),
        "metrics": {
            "holdout": {
                key: metadata.get("metrics", {}).get("holdout", {}).get(key)
                for key in ("rows", "roc_auc", "precision", "recall", "precision_ci95", "recall_ci95")
            },
            "fairness": {
                "equal_opportunity_difference_age": metadata.get("metrics", {})
                .get("fairness", {})
                .get("equal_opportunity_difference_age")
            },
        },
        "code": {"commit": commit, "committed_at": committed_at},
        # Run facts (start time, duration, host) of the build that produced these bytes; the tag makes
        # this otherwise git-ignored record permanent.
        "build": build_records,
    }


def head_lineage(registry: Registry) -> dict[str, Any]:
    """The lineage of HEAD's package, read from the workspace (check_publishable made it HEAD's)."""
    repo = registry.repo
    package = repo / PACKAGE_OUT
    try:
        check_manifest(package)
    except PackageError as error:
        raise RegistryError(str(error)) from None
    metadata = json.loads((package / METADATA_FILE).read_text(encoding="utf-8"))
    lock = yaml.safe_load((repo / "dvc.lock").read_text(encoding="utf-8")) or {}
    commit = registry.git("rev-parse", "HEAD")
    committed_at = registry.git("show", "-s", "--format=%cI", "HEAD")
    records = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((repo / RUNS_DIR).glob("*.json"))
    }
    if not records:  # before issue 8's build records, the package's own run facts
        records = {"training": metadata.get("training", {}), "environment": metadata.get("environment", {})}
    return build_lineage(metadata, lock, commit=commit, committed_at=committed_at, build_records=records)


def propose(registry: Registry, bump: str) -> str:
    """Register HEAD's package (lineage JSON in the tag) and assign it `staging`; return the version."""
    check_publishable(registry)
    document = head_lineage(registry)
    lineage = json.dumps(document, sort_keys=True)
    if registry.versions():
        registry.register(lineage, bump=bump)
    else:
        registry.register(lineage, version="v1.0.0")
    head = document["code"]["commit"]
    version = max(
        (row for row in version_rows(registry.versions(), {}) if row.commit == head),
        key=lambda row: row.registered_at,
    ).version
    registry.assign(version, "staging", "proposed by attrition registry propose")
    return version


# --- promote -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """A judged promotion, before anything is written: the candidate, current prod, the gate's record."""

    candidate: str
    production: str | None
    gate: dict[str, Any] | None  # gate.json's document; None when there is no prod to gate against

    @property
    def verdict(self) -> str:
        return "pass" if self.gate is None else str(self.gate["verdict"])


def load_candidate(
    registry: Registry,
    candidate: str,
    production: str,
    *,
    lineage: dict[str, Any],
    commit: str,
    data: Path | None,
    params: Params,
    scratch: Path,
) -> GateInputs:
    """Step 1, load: fetch both packages (and the candidate's evalset unless --data), then read them."""
    candidate_dir = registry.fetch(scratch / "candidate", version=candidate)
    production_dir = registry.fetch(scratch / "production", version=production)
    if data is None:
        path = lineage.get("evalset", {}).get("path")
        if not path:
            raise RegistryError(
                "the candidate's registration carries no evalset path; pass --data CSV", code=2
            )
        data = registry.fetch_file(path, commit, scratch / "evalset.csv")
    return load_inputs(candidate_dir, production_dir, data, list(params.evaluate.age_bands))


def judge_promotion(
    registry: Registry, version: str | None, *, data: Path | None, params_path: Path, force: bool
) -> Promotion:
    """Steps 1 and 2: load and judge VERSION (default: staging's) against current prod.

    With `force`, a gate that cannot run is recorded as verdict ``not_run`` instead of refusing.
    """
    stages = registry.summary()
    rows = {row.version: row for row in version_rows(registry.versions(), stages)}
    version = version or stages["staging"]
    if version is None or version not in rows:
        raise RegistryError(
            f"version {version or '(none in staging)'} is not registered; see `attrition registry show`",
            code=2,
        )
    production = stages["prod"]
    if production == version:
        raise RegistryError(f"{version} is already prod", code=2)
    if production is None:
        return Promotion(version, None, None)
    try:
        params = load_params(params_path)
    except ParamsError as error:
        raise RegistryError(str(error), code=2) from None
    try:
        with tempfile.TemporaryDirectory(prefix="attrition-gate-") as scratch:
            inputs = load_candidate(
                registry,
                version,
                production,
                lineage=rows[version].lineage,
                commit=rows[version].commit,
                data=data,
                params=params,
                scratch=Path(scratch),
            )
        document = judged_document(inputs, params.gate)
    except (RegistryError, ValueError) as error:  # GateInputError and DatasetError are ValueErrors
        if not force:
            raise RegistryError(f"gate could not run: {error}", code=getattr(error, "code", 2)) from None
        document = {"verdict": "not_run", "error": str(error)}
    return Promotion(version, production, document)


def record_promotion(
    registry: Registry, promotion: Promotion, *, out: Path | None, force: bool, reason: str | None
) -> bool:
    """Step 3, record: gate.json (when asked), then the prod assignment on pass or --force.

    The assignment tag carries the gate's record (and the override, when forced). Returns whether
    prod was assigned.
    """
    if out and promotion.gate is not None:
        write_document(out, promotion.gate)
    if promotion.verdict != "pass" and not force:
        return False
    record: dict[str, Any] = {
        "candidate": promotion.candidate,
        "production": promotion.production,
        "gate": FIRST_PROD if promotion.gate is None else promotion.gate,
    }
    if force:
        record["forced"] = {"reason": reason, "by": os.environ.get("USER", "unknown")}
    registry.assign(promotion.candidate, "prod", json.dumps(record, sort_keys=True, separators=(",", ":")))
    return True


# --- rollback ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollback:
    """What a rollback did: prod was `current`, should now be `fallback`, and GTO resolves `now`."""

    current: str
    fallback: str
    now: str | None


def rollback(registry: Registry, reason: str) -> Rollback:
    """Deprecate the current prod assignment so the previous prod version serves again."""
    current = registry.summary()["prod"]
    if current is None:
        raise RegistryError("no version is in prod; nothing to roll back")
    fallback = previous_prod(registry.versions(), current)
    if fallback is None:
        raise RegistryError(f"{current} is the only prod version ever assigned; nothing to roll back to")
    message = json.dumps({"rollback": {"from": current, "to": fallback, "reason": reason}}, sort_keys=True)
    registry.unassign(current, "prod", message)
    return Rollback(current, fallback, registry.summary()["prod"])
