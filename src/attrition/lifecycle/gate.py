"""The promotion gate: may a candidate package replace production? (issue 9)

The plan's rule, "superior recall and precision, bias metric within +-2 pp", is judged here on ONE
set of labelled rows that neither model trained on, with paired-bootstrap 95% intervals; comparing
two metrics.json files from two different 160-row hold-outs is noise. Both models pick their
threshold by the same recall policy, so at their packaged thresholds they land on nearly the same
recall and differ mostly in precision. "Superior" is therefore read where production operates, on
the two precision-recall curves:

* precision at production's recall: on each curve, the best precision among thresholds whose
  recall reaches production's deployed recall (interpolated precision), candidate minus production;
* recall at production's precision: on each curve, the highest recall among thresholds whose
  precision reaches production's deployed precision, candidate minus production.

Both curves are read by the same function, so a candidate identical to production differs by
exactly 0 in every resample and can never be "superior". Each is superior when the lower bound of
the 95% interval of (candidate - production) is above 0. The packaged-threshold figures (what would
be deployed) are reported too, with a non-inferiority rule on deployed recall, and the age-band
recall gap of the candidate must be within the bias limit by its upper bound, or no worse than
production's (paired difference of gaps, upper bound within a declared margin); it fails only when
the gap exceeds the limit by its lower bound. Too few positives overall or in an age band, or a gap
interval that straddles the limit, gives ``insufficient_evidence``, never ``pass``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from attrition.atomic import atomic_write_text
from attrition.dataset import FEATURES, TARGET, DatasetError, age_band_labels, read_dataset
from attrition.method.confidence import (
    LEVEL,
    Estimate,
    group_recall,
    paired_difference,
    percentile_interval,
    recall_precision,
)
from attrition.modelpkg.artifact import PackageError, check_predictions, load_package, md5_file, package_md5
from attrition.params import GateParams, ParamsError, load_params

Outcome = Literal["pass", "fail", "insufficient_evidence"]
EXIT_CODES: dict[str, int] = {"pass": 0, "fail": 1, "insufficient_evidence": 3}
CURVE_FIGURES = ("precision_at_production_recall", "recall_at_production_precision")


# --- row-level paired bootstrap of the precision-recall curves ------------------------------------


def resample_weights(n_rows: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """`n_draws` bootstrap resamples as counts per row, shape (n_draws, n_rows).

    Counting drawn indices with one bincount is O(rows) per draw; numpy's multinomial over n_rows
    equal cells loops over the cells in Python-visible time.
    """
    drawn = rng.integers(0, n_rows, size=(n_draws, n_rows))
    drawn += (np.arange(n_draws) * n_rows)[:, None]
    return np.bincount(drawn.ravel(), minlength=n_draws * n_rows).reshape(n_draws, n_rows).astype(np.int32)


def _tie_ends(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows by descending score, and the sorted positions closing each group of tied scores.

    Thresholds only fall between distinct scores: every row of a tie is flagged together.
    """
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    return order, ends


@dataclass(frozen=True)
class PairedRows:
    """Labelled rows scored by both models: the input of every paired comparison."""

    y: np.ndarray  # bool
    candidate_scores: np.ndarray
    production_scores: np.ndarray
    candidate_threshold: float
    production_threshold: float
    bands: np.ndarray  # age-band label per row (str)

    @property
    def candidate_decided(self) -> np.ndarray:
        return np.asarray(self.candidate_scores >= self.candidate_threshold)

    @property
    def production_decided(self) -> np.ndarray:
        return np.asarray(self.production_scores >= self.production_threshold)


def _curve_reads(
    weights: np.ndarray,
    positive: np.ndarray,
    tied: tuple[np.ndarray, np.ndarray],
    target_tp: np.ndarray,
    target_flagged: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one model's PR curve, per resample, at production's (recall, precision) point.

    Returns (best precision among thresholds with TP >= target_tp, best recall among thresholds with
    precision >= target_tp / target_flagged). Comparisons are on integer counts, not floats, so a
    curve read at its own operating point returns exactly that point.
    """
    order, ends = tied
    # int32 over the (resamples x rows) arrays (counts never exceed the row count), int64 once cut
    ordered = weights[:, order]
    flagged = np.cumsum(ordered, axis=1, dtype=np.int32)[:, ends].astype(np.int64)
    ordered *= positive[order]
    tp = np.cumsum(ordered, axis=1, dtype=np.int32)[:, ends].astype(np.int64)
    positives = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), 0.0)
        recall = tp / np.maximum(positives, 1)[:, None]
    reaches_recall = tp >= target_tp[:, None]
    best_precision = np.where(reaches_recall, precision, -np.inf).max(axis=1)
    reaches_precision = (tp * target_flagged[:, None] >= target_tp[:, None] * flagged) & (flagged > 0)
    best_recall = np.where(reaches_precision, recall, 0.0).max(axis=1)
    undefined = (positives == 0) | (target_flagged == 0)
    return np.where(undefined, np.nan, best_precision), np.where(undefined, np.nan, best_recall)


def _band_gaps(weights: np.ndarray, positive_by_band: np.ndarray, hits_by_band: np.ndarray) -> np.ndarray:
    """Max-minus-min recall over bands with positives, per resample (NaN when fewer than 2 bands)."""
    positives = weights @ positive_by_band
    hits = weights @ hits_by_band
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(positives > 0, hits / np.maximum(positives, 1), np.nan)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN slice encountered")
        gap = np.nanmax(recall, axis=1) - np.nanmin(recall, axis=1)
    defined = np.isfinite(recall).sum(axis=1)
    return np.where(defined >= 2, gap, np.nan)


def paired_curve_draws(rows: PairedRows, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Candidate minus production for the two curve reads and the age-band gap, one value per resample.

    `weights` holds one resample per row (counts per evaluation row); ones give the observed values.
    """
    w = weights.astype(np.int32, copy=False)
    positive = rows.y.astype(np.int32)
    decided_p = rows.production_decided.astype(np.int32)
    target_tp = (w @ (positive * decided_p)).astype(np.int64)
    target_flagged = (w @ decided_p).astype(np.int64)
    reads_c = _curve_reads(w, positive, _tie_ends(rows.candidate_scores), target_tp, target_flagged)
    reads_p = _curve_reads(w, positive, _tie_ends(rows.production_scores), target_tp, target_flagged)
    names = sorted(set(rows.bands.tolist()))
    one_hot = (rows.bands[:, None] == np.array(names)[None, :]).astype(np.float64)
    positive_by_band = one_hot * positive[:, None]
    gap_c = _band_gaps(w, positive_by_band, positive_by_band * rows.candidate_decided[:, None])
    gap_p = _band_gaps(w, positive_by_band, positive_by_band * rows.production_decided[:, None])
    return {
        "precision_at_production_recall": reads_c[0] - reads_p[0],
        "recall_at_production_precision": reads_c[1] - reads_p[1],
        "age_band_gap": gap_c - gap_p,
        "candidate_precision_at_production_recall": reads_c[0],
        "candidate_recall_at_production_precision": reads_c[1],
        "production_precision": reads_p[0],
        "production_recall": reads_p[1],
    }


def paired_curve_differences(
    rows: PairedRows, *, n: int, seed: int, chunk_cells: int, level: float = LEVEL
) -> dict[str, Estimate]:
    """Observed values and paired row-bootstrap intervals of :func:`paired_curve_draws`.

    Resampling whole rows keeps each row's label and both scores together (the pairing), and is
    exact for curve reads that a cell-count bootstrap cannot express. Memory stays bounded: at most
    `chunk_cells` (rows x resamples) weights are held at once.
    """
    n_rows = len(rows.y)
    observed = paired_curve_draws(rows, np.ones((1, n_rows), dtype=np.int32))
    rng = np.random.default_rng(seed)
    per_chunk = max(1, chunk_cells // max(n_rows, 1))
    collected: dict[str, list[np.ndarray]] = {name: [] for name in observed}
    done = 0
    while done < n:
        size = min(per_chunk, n - done)
        for name, values in paired_curve_draws(rows, resample_weights(n_rows, size, rng)).items():
            collected[name].append(values)
        done += size
    support = int(rows.y.sum())
    result: dict[str, Estimate] = {}
    for name, values in observed.items():
        low, high = percentile_interval(np.concatenate(collected[name]), level)
        value = float(values[0])
        result[name] = Estimate(None if np.isnan(value) else value, low, high, support)
    return result


# --- the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    name: str
    outcome: Outcome
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "outcome": self.outcome, "detail": self.detail}


def _fmt(estimate: Estimate) -> str:
    def number(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.4f}"

    return f"{number(estimate.value)} [{number(estimate.low)}, {number(estimate.high)}]"


def superiority_rule(name: str, difference: Estimate) -> RuleResult:
    """Superior when the interval's lower bound of (candidate - production) is above 0."""
    if difference.low is None:
        return RuleResult(
            name, "insufficient_evidence", f"difference undefined on these rows: {_fmt(difference)}"
        )
    verdict: Outcome = "pass" if difference.low > 0 else "fail"
    word = "superior" if verdict == "pass" else "not shown superior (lower bound <= 0)"
    return RuleResult(name, verdict, f"candidate - production {_fmt(difference)}: {word}")


def recall_drop_rule(difference: Estimate, max_drop: float) -> RuleResult:
    """Deployed recall may trail production's by at most `max_drop`, by the interval's lower bound."""
    name = "deployed_recall_noninferior"
    if difference.low is None:
        return RuleResult(name, "insufficient_evidence", "recall difference undefined on these rows")
    verdict: Outcome = "pass" if difference.low >= -max_drop else "fail"
    return RuleResult(
        name,
        verdict,
        f"recall at packaged thresholds {_fmt(difference)}; lower bound must be >= {-max_drop:+.4f}",
    )


def bias_rule(
    candidate_gap: Estimate,
    gap_difference: Estimate,
    *,
    band_positives: dict[str, int],
    limit: float,
    margin: float,
    min_per_band: int,
) -> RuleResult:
    """Candidate's age-band recall gap within `limit` by its upper bound, or no worse than production's.

    "No worse" is the upper bound of the paired (candidate gap - production gap) within `margin`.
    Neither shown: ``fail`` when the gap exceeds `limit` by its lower bound, otherwise the interval
    straddles the limit and the verdict is ``insufficient_evidence`` (no promotion either way, but
    the remedy is more rows, not a different model). A band with fewer than `min_per_band` positives
    makes any gap statement noise.
    """
    name = "age_band_recall_gap"
    thin = {band: count for band, count in band_positives.items() if count < min_per_band}
    if thin:
        listed = ", ".join(f"{band}: {count}" for band, count in sorted(thin.items()))
        return RuleResult(
            name, "insufficient_evidence", f"age bands below {min_per_band} positives ({listed})"
        )
    if candidate_gap.high is not None and candidate_gap.high <= limit:
        return RuleResult(
            name, "pass", f"candidate gap {_fmt(candidate_gap)} within {limit} by its upper bound"
        )
    if gap_difference.high is not None and gap_difference.high <= margin:
        return RuleResult(
            name,
            "pass",
            f"candidate gap {_fmt(candidate_gap)} exceeds {limit}, but candidate - production "
            f"{_fmt(gap_difference)} is within {margin} by its upper bound",
        )
    if candidate_gap.low is not None and candidate_gap.low > limit:
        return RuleResult(
            name,
            "fail",
            f"candidate gap {_fmt(candidate_gap)} exceeds {limit} by its lower bound, and candidate - "
            f"production {_fmt(gap_difference)} is not within {margin}",
        )
    # The interval straddles the limit: these rows cannot say whether the gap is within it. A fair
    # candidate against an equally fair production lands here when the bands hold ~1,000 positives.
    least = min(band_positives.values())
    return RuleResult(
        name,
        "insufficient_evidence",
        f"candidate gap {_fmt(candidate_gap)} straddles {limit} and candidate - production "
        f"{_fmt(gap_difference)} is not within {margin}: {least} positives in the thinnest age band "
        "cannot decide; gate on more labelled rows",
    )


def combine(rules: list[RuleResult]) -> Outcome:
    """Any failed rule fails the gate; otherwise any rule lacking evidence withholds the pass."""
    outcomes = {rule.outcome for rule in rules}
    if "fail" in outcomes:
        return "fail"
    if "insufficient_evidence" in outcomes:
        return "insufficient_evidence"
    return "pass"


def judge(rows: PairedRows, params: GateParams) -> dict[str, Any]:
    """Every figure, rule and the verdict for two models' scores on the same labelled rows."""
    n, seed = params.bootstrap.n, params.bootstrap.seed
    decided_c, decided_p = rows.candidate_decided, rows.production_decided
    positives = int(rows.y.sum())
    band_positives = {
        str(band): int(rows.y[rows.bands == band].sum()) for band in sorted(set(rows.bands.tolist()))
    }
    packaged = {
        "candidate": {k: v.as_dict() for k, v in recall_precision(rows.y, decided_c, n=n, seed=seed).items()},
        "production": {
            k: v.as_dict() for k, v in recall_precision(rows.y, decided_p, n=n, seed=seed).items()
        },
    }
    deployed = paired_difference(rows.y, decided_c, decided_p, n=n, seed=seed)
    packaged["difference"] = {k: v.as_dict() for k, v in deployed.items()}
    gaps = {
        who: group_recall(
            rows.y, decided, rows.bands, n=n, seed=seed, min_positives=params.min_positives_per_band
        )
        for who, decided in (("candidate", decided_c), ("production", decided_p))
    }
    curves = paired_curve_differences(rows, n=n, seed=seed, chunk_cells=params.chunk_cells)
    if positives < params.min_positives:
        reason = f"{positives} positives in the evaluation data; at least {params.min_positives} needed"
        rules = [
            RuleResult(name, "insufficient_evidence", reason)
            for name in (*CURVE_FIGURES, "deployed_recall_noninferior", "age_band_recall_gap")
        ]
    else:
        rules = [superiority_rule(name, curves[name]) for name in CURVE_FIGURES]
        rules.append(recall_drop_rule(deployed["recall"], params.max_recall_drop))
        rules.append(
            bias_rule(
                gaps["candidate"].gap,
                curves["age_band_gap"],
                band_positives=band_positives,
                limit=params.bias_limit,
                margin=params.bias_noninferiority_margin,
                min_per_band=params.min_positives_per_band,
            )
        )
    return {
        "verdict": combine(rules),
        "level": LEVEL,
        "rows": len(rows.y),
        "positives": positives,
        "positives_by_age_band": band_positives,
        "at_packaged_thresholds": packaged,
        "on_the_curves": {
            name: curves[name].as_dict()
            for name in (
                *CURVE_FIGURES,
                "candidate_precision_at_production_recall",
                "candidate_recall_at_production_precision",
                "production_precision",
                "production_recall",
            )
        },
        "age_band_recall_gap": {
            "candidate": gaps["candidate"].as_dict(),
            "production": gaps["production"].as_dict(),
            "difference": curves["age_band_gap"].as_dict(),
        },
        "rules": [rule.as_dict() for rule in rules],
    }


# --- the command ----------------------------------------------------------------------------------


class GateInputError(ValueError):
    """Inputs the gate cannot judge (bad package, unreadable data); the message is one line."""


def _describe_package(path: Path, package: Any) -> dict[str, Any]:
    meta = package.metadata
    return {
        "path": str(path),
        "model_version": package.model_version,
        "package_md5": package_md5(path),
        "dataset_version": meta.dataset.version,
        "family": meta.model.family,
        "decision_threshold": package.decision_threshold,
    }


def run_gate(
    candidate_dir: Path, production_dir: Path, data_path: Path, params: GateParams, age_bands: list[int]
) -> dict[str, Any]:
    """Verify both packages (hashes before unpickling), score both on the data, judge."""
    scored: dict[str, tuple[dict[str, Any], np.ndarray, float]] = {}
    frame = read_dataset(data_path)
    for who, path in (("candidate", candidate_dir), ("production", production_dir)):
        try:
            package = load_package(path)  # raises before unpickling on any hash mismatch
            check_predictions(package)
        except PackageError as error:
            raise GateInputError(f"{who} package refused: {error}") from None
        scores = package.model.predict_proba(frame[FEATURES])[:, 1]
        scored[who] = (_describe_package(path, package), scores, package.decision_threshold)
    rows = PairedRows(
        y=frame[TARGET].to_numpy().astype(bool),
        candidate_scores=scored["candidate"][1],
        production_scores=scored["production"][1],
        candidate_threshold=scored["candidate"][2],
        production_threshold=scored["production"][2],
        bands=age_band_labels(frame["age"], age_bands).to_numpy().astype(str),
    )
    result = judge(rows, params)
    return {
        "verdict": result.pop("verdict"),
        "candidate": scored["candidate"][0],
        "production": scored["production"][0],
        "data": {
            "path": str(data_path),
            "md5": md5_file(data_path),
            "rows": result.pop("rows"),
            "positives": result.pop("positives"),
            "positives_by_age_band": result.pop("positives_by_age_band"),
        },
        "params": params.model_dump(mode="json"),
        **result,
    }


def summary_lines(result: dict[str, Any]) -> list[str]:
    """What a person reads: one line per rule, then the verdict."""
    data = result["data"]
    lines = [
        f"gate: candidate {result['candidate']['model_version']} vs production "
        f"{result['production']['model_version']} on {data['rows']} rows ({data['positives']} positives)"
    ]
    lines += [f"  {rule['outcome']:<21} {rule['name']}: {rule['detail']}" for rule in result["rules"]]
    lines.append(f"verdict: {result['verdict']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`attrition gate`: exit 0 pass, 1 fail, 3 insufficient evidence, 2 bad input."""
    parser = argparse.ArgumentParser(prog="attrition gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidate", type=Path, required=True, help="candidate package directory")
    parser.add_argument("--production", type=Path, required=True, help="production package directory")
    parser.add_argument(
        "--data", type=Path, required=True, help="labelled evaluation CSV (the evalset stage)"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, help="write gate.json here")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        result = run_gate(
            args.candidate, args.production, args.data, params.gate, list(params.evaluate.age_bands)
        )
    except (GateInputError, ParamsError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2, sort_keys=True) + "\n")
    print("\n".join(summary_lines(result)))
    return EXIT_CODES[result["verdict"]]


if __name__ == "__main__":
    raise SystemExit(main())
