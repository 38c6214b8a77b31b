"""The gate's rules and verdict: pure functions of two models' scores on the same labelled rows.

Both models pick their threshold by the same recall policy, so at their packaged thresholds they
land on nearly the same recall and differ mostly in precision. "Superior" is therefore read where
production operates, on the two precision-recall curves (:mod:`.curves`): each curve figure is
superior when the lower bound of the 95% interval of (candidate - production) is above 0. The
packaged-threshold figures (what would be deployed) are reported too, with a non-inferiority rule on
deployed recall. The bias rule judges the age-band recall gap by :mod:`attrition.method.groups`
(bias-corrected gap, intervals simultaneous over the band pairs) and is defined by its error rates,
with the burden of proof declared in params (``gate.bias_burden``): see :func:`bias_rule`. Too few
positives overall or in an age band gives ``insufficient_evidence``, never ``pass``. Nothing here
reads or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from attrition.lifecycle.gate.curves import PairedRows, paired_curve_differences
from attrition.method.confidence import LEVEL, Estimate, paired_difference, recall_precision
from attrition.method.groups import GroupComparison, bias_outcomes, claim_alpha, compare_groups
from attrition.params import GateParams

Outcome = Literal["pass", "fail", "insufficient_evidence"]
EXIT_CODES: dict[str, int] = {"pass": 0, "fail": 1, "insufficient_evidence": 3}
CURVE_FIGURES = ("precision_at_production_recall", "recall_at_production_precision")


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


def _against(gap: Estimate, limit: float) -> str:
    """Where a gap's interval lies against the limit, in the rule's three outcomes' words.

    The point estimate decides nothing: a gap of 0.012 whose interval reaches 0.038 is not shown
    within 0.02, and does not exceed it either.
    """
    if gap.high is not None and gap.high <= limit:
        return f"is within {limit} by its upper bound"
    if gap.low is not None and gap.low > limit:
        return f"exceeds {limit} by its lower bound"
    if gap.low is None or gap.high is None:
        return f"has no interval to compare with {limit}"
    return f"straddles {limit}"


def bias_declaration(params: GateParams) -> dict[str, Any]:
    """What the bias rule must prove and its error rates, as gate.json records them."""
    limit, alpha = params.bias_limit, params.bias_alpha
    claims = {
        "unfairness": (
            f"fail only when the gap is shown above {limit} and the candidate is not shown no worse than "
            f"production (+{params.bias_noninferiority_margin}); a candidate within {limit} fails in <= "
            f"{alpha:.0%} of evaluations; an unfair one passes unless the rows can show it"
        ),
        "fairness": (
            f"pass only when the gap is shown within {limit} or no worse than production "
            f"(+{params.bias_noninferiority_margin}); an unfair candidate that is worse than production "
            f"passes in <= {alpha:.0%} of evaluations (each bound at {alpha / 2:.1%})"
        ),
    }
    return {
        "policy": f"every age band's recall within +-{limit} of every other (the plan's bias limit)",
        "burden": params.bias_burden,
        "alpha": alpha,
        "claim": claims[params.bias_burden],
        "method": "attrition.method.groups.compare_groups",
    }


def _gap_text(comparison: GroupComparison) -> str:
    gap = comparison.gap
    return (
        f"{_fmt(gap)} ({comparison.level:.0%} simultaneous; observed range "
        f"{'n/a' if comparison.observed_range is None else f'{comparison.observed_range:+.4f}'})"
    )


def bias_rule(
    candidate: GroupComparison,
    production: GroupComparison,
    *,
    band_positives: dict[str, int],
    limit: float,
    margin: float,
    min_per_band: int,
    burden: str,
) -> RuleResult:
    """The age-band recall gap rule (:func:`attrition.method.groups.bias_outcomes`), in words.

    ``unfairness`` (burden on the evidence of harm): fail only when the candidate's gap is shown above
    `limit` (error <= alpha for a candidate within it) and it is not shown no worse than production
    by `margin`; otherwise pass. ``fairness`` (burden on the candidate): pass only when shown within
    `limit` or no worse than production (error <= alpha for an unfair candidate worse than
    production); shown above and not no worse: fail; otherwise ``insufficient_evidence``, whose
    remedy is more labelled rows. A band with fewer than `min_per_band` positives decides nothing.
    """
    name = "age_band_recall_gap"
    thin = {band: count for band, count in band_positives.items() if count < min_per_band}
    if thin:
        listed = ", ".join(f"{band}: {count}" for band, count in sorted(thin.items()))
        return RuleResult(
            name, "insufficient_evidence", f"age bands below {min_per_band} positives ({listed})"
        )
    c_low, c_high, p_low = candidate.gap.low, candidate.gap.high, production.gap.low
    nan = float("nan")
    outcome = cast(
        Outcome,
        str(
            bias_outcomes(
                np.array(nan if c_low is None else c_low),
                np.array(nan if c_high is None else c_high),
                np.array(nan if p_low is None else p_low),
                thin=np.array(False),
                limit=limit,
                margin=margin,
                burden=burden,
            )
        ),
    )
    bound = None if c_high is None or p_low is None else c_high - p_low
    versus = (
        f"candidate - production gap at most {'n/a' if bound is None else f'{bound:+.4f}'} "
        f"({'within' if bound is not None and bound <= margin else 'not shown within'} {margin})"
    )
    where = _against(candidate.gap, limit)
    least = min(band_positives.values())
    detail = f"candidate gap {_gap_text(candidate)} {where}; {versus}; burden of proof: {burden}"
    if outcome == "insufficient_evidence":
        detail += f"; {least} positives in the thinnest age band cannot decide: gate on more labelled rows"
    return RuleResult(name, outcome, detail)


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
    packaged = {
        "candidate": {k: v.as_dict() for k, v in recall_precision(rows.y, decided_c, n=n, seed=seed).items()},
        "production": {
            k: v.as_dict() for k, v in recall_precision(rows.y, decided_p, n=n, seed=seed).items()
        },
    }
    deployed = paired_difference(rows.y, decided_c, decided_p, n=n, seed=seed)
    packaged["difference"] = {k: v.as_dict() for k, v in deployed.items()}
    alpha = claim_alpha(params.bias_alpha, params.bias_burden)
    gaps = {
        who: compare_groups(
            rows.y, decided, rows.bands, alpha=alpha, min_positives=params.min_positives_per_band
        )
        for who, decided in (("candidate", decided_c), ("production", decided_p))
    }
    band_positives = {band: estimate.support for band, estimate in gaps["candidate"].by_group.items()}
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
                gaps["candidate"],
                gaps["production"],
                band_positives=band_positives,
                limit=params.bias_limit,
                margin=params.bias_noninferiority_margin,
                min_per_band=params.min_positives_per_band,
                burden=params.bias_burden,
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
            "rule": bias_declaration(params),
        },
        "rules": [rule.as_dict() for rule in rules],
    }
