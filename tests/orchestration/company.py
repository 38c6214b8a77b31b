"""A small company for the flows: an HRIS drop folder, a feature store fed up to a date, a registry
repo whose prod model was trained on that store, its package deployed, and an empty audit store.

The company of the README's data-path walkthrough (features.t, datapath.t: 5,000 employees, 36 monthly
extracts from 2023-01, seed 7), where the champion's method as of 2025-12-31 is shown superior to the
seed's logistic regression as of 2025-06-30 on the hold-out snapshot (738 positives): the smallest
history on which the gate passes for a reason, not by chance. Smaller companies gave the gate too few
rows to show superiority (2,500 employees: "not shown superior" for the same pair).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT, run
from tests.support.registry_repo import link_venv, registry_repo, set_params

EMPLOYEES = 5000
MONTHS = 36
START = "2023-01-01"
SEED = 7
PROD_AS_OF = "2025-06-30"  # the first model's date; the store then holds extracts up to STORE_UNTIL
STORE_UNTIL = "2025-11-30"


# Production's first model: the seed's method (a logistic regression on the four columns), so the
# first retrain with the committed method (hgb, drop-column selection) is superior and passes, and a
# retrain back to this method is not shown superior and fails.
WEAK_METHOD: dict[str, object] = {"train__model": "logreg", "train__selection__method": "none"}


def champion_method() -> dict[str, object]:
    """The method params.yaml commits: what WEAK_METHOD replaced, to restore on main."""
    train = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["train"]
    return {
        "train__model": train["model"],
        "train__selection__method": train["selection"]["method"],
    }


def commit_params(repo: Path, message: str) -> None:
    """A method change on main, pushed: what the next retraining run starts from."""
    run(["git", "commit", "-qm", message, "--", "params.yaml"], repo)
    run(["git", "push", "-q", "origin", "main"], repo)


def attrition(*args: str, cwd: Path) -> str:
    return run(["attrition", *args], cwd).stdout


def refresh(store: Path, drop: Path, day: str, cwd: Path) -> str:
    return attrition(
        "features",
        "refresh",
        "--store",
        str(store),
        "--hris",
        str(drop / f"hris_{day}.csv"),
        "--as-of",
        day,
        cwd=cwd,
    )


def month_ends(drop: Path) -> list[str]:
    return sorted(path.stem.removeprefix("hris_") for path in drop.glob("hris_*.csv"))


def build_company(root: Path) -> dict[str, Path]:
    """Every path the DAGs' environment names, with prod v1.0.0 (logreg, 4 columns) deployed."""
    root.mkdir(parents=True, exist_ok=True)
    drop, store = root / "hris", root / "store"
    attrition(
        "hris",
        "simulate",
        "--employees",
        str(EMPLOYEES),
        "--months",
        str(MONTHS),
        "--start",
        START,
        "--seed",
        str(SEED),
        "--out",
        str(drop),
        cwd=root,
    )
    version = -1
    for day in month_ends(drop):
        if date.fromisoformat(day) > date.fromisoformat(STORE_UNTIL):
            break
        refresh(store, drop, day, root)
        if day <= PROD_AS_OF:
            version += 1
    built = registry_repo(
        root,
        f"First model on the store as of {PROD_AS_OF}",
        data__source="hris",
        data__store=str(store),
        data__table_version=version,
        data__as_of=PROD_AS_OF,
        **WEAK_METHOD,
    )
    repo = built["repo"]
    link_venv(repo)
    # The next retrain uses the committed method (hgb's declared grid, drop-column selection).
    set_params(repo, **champion_method())
    commit_params(repo, "Retrain with the champion's method")
    run(["attrition", "deploy", "--stage", "prod", "--to", str(root / "serving")], repo)
    deploy_dir = root / "serving"
    audit_db = root / "audit.sqlite"
    attrition("audit", "--db", str(audit_db), "migrate", cwd=root)
    return {
        "root": root,
        "repo": repo,
        "drop": drop,
        "store": store,
        "deploy_dir": deploy_dir,
        "audit_db": audit_db,
        "runs": root / "runs",
    }


def dag_env(company: dict[str, Path]) -> dict[str, str]:
    """The worker environment the DAG file documents, pointed at this company."""
    return {
        "ATTRITION_REPO": str(company["repo"]),
        "ATTRITION_STORE": str(company["store"]),
        "ATTRITION_HRIS_DROP": str(company["drop"]),
        "ATTRITION_RUNS": str(company["runs"]),
        "ATTRITION_DEPLOY_DIR": str(company["deploy_dir"]),
        "ATTRITION_AUDIT_DB": str(company["audit_db"]),
    }


def served_model_version(company: dict[str, Path]) -> str:
    metadata = json.loads((company["deploy_dir"] / "current" / "metadata.json").read_text())
    return str(metadata["model_version"])
