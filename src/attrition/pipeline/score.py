"""Stage `score`: nightly batch scores for the whole roster, the service's fallback when no model
can be loaded.

The roster is the version's dataset, with employee ids E00001, E00002, ... in row order; or, for the
nightly job on a company's own data, every active employee of an online feature file (``--online``,
written by `attrition features materialize`) under their HRIS ids. Scores come
from the packaged Pipeline itself (not the service's compiled scorer), so the fallback answers are
the reference numbers. The CSV is written atomically: the service never reads half a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from attrition.atomic import atomic_write_text
from attrition.canonical_json import canonical_array
from attrition.dataset import FEATURES, DatasetError, read_dataset
from attrition.features.online import OnlineStore
from attrition.modelpkg.artifact import PackageError, load_package
from attrition.pipeline.stage import run_stage, stage_parser

COLUMNS = ["employee_id", "attrition_probability", "decision", "model_version"]


def employee_ids(count: int) -> list[str]:
    """Roster ids in row order: E00001, E00002, ... (wider past 99999 rows)."""
    return [f"E{number:05d}" for number in range(1, count + 1)]


def score_roster(
    model: object,
    roster: pd.DataFrame,
    *,
    threshold: float,
    model_version: str,
    ids: list[str] | None = None,
) -> pd.DataFrame:
    """Probability and decision (probability >= threshold, as 1/0) for every roster row.

    `ids` name the rows (default: E00001, E00002, ... in row order).
    """
    probabilities = model.predict_proba(roster[FEATURES])[:, 1]  # type: ignore[attr-defined]
    return pd.DataFrame(
        {
            "employee_id": employee_ids(len(roster)) if ids is None else ids,
            # canonical (attrition.canonical_json): a linear model's scores go through BLAS
            "attrition_probability": canonical_array(probabilities),
            "decision": (probabilities >= threshold).astype(int),
            "model_version": model_version,
        },
        columns=COLUMNS,
    )


def scores_csv(scores: pd.DataFrame) -> str:
    """CSV text with repr floats: the canonical probabilities exactly, on any CPU."""
    return str(scores.to_csv(index=False, lineterminator="\n"))


def read_roster(data: Path | None, online: Path | None) -> tuple[pd.DataFrame, list[str] | None]:
    """The rows to score and their ids: a dataset CSV (ids by row) or an online file's active employees."""
    if online is None:
        assert data is not None  # argparse requires one of the two
        return read_dataset(data, labelled=False), None
    try:
        store = OnlineStore.load(online)
    except FileNotFoundError:
        raise DatasetError(f"--online {online}: file not found") from None
    except (OSError, ValueError) as error:
        line = (str(error).splitlines() or [type(error).__name__])[0].removeprefix(f"{online}: ")
        raise DatasetError(f"--online {online}: {line}") from None
    ids = store.active_ids()
    if not ids:
        raise DatasetError(f"--online {online}: no active employee as of {store.as_of}")
    return pd.DataFrame([store.get(employee_id) for employee_id in ids], columns=FEATURES), ids


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("score", "Score the roster with the verified package.", reads_params=False)
    parser.add_argument("--package", type=Path, required=True, help="model package directory")
    roster = parser.add_mutually_exclusive_group(required=True)
    roster.add_argument("--data", type=Path, help="roster CSV (the dataset; ids E00001... by row)")
    roster.add_argument(
        "--online", type=Path, help="online feature file (attrition features materialize): active employees"
    )
    parser.add_argument("--out", type=Path, required=True, help="batch scores CSV to write")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        package = load_package(args.package)  # manifest checked before unpickling
        roster, ids = read_roster(args.data, args.online)
        scores = score_roster(
            package.model,
            roster,
            threshold=package.decision_threshold,
            model_version=package.model_version,
            ids=ids,
        )
        atomic_write_text(args.out, scores_csv(scores))
        print(f"scored {len(scores)} employees with model {package.model_version} -> {args.out}")
        return {"model_version": package.model_version, "rows": len(scores)}

    return run_stage("score", body, run_record=args.run_record, extra_errors=(PackageError,))


if __name__ == "__main__":
    raise SystemExit(main())
