"""What can the gate and the monitor decide about age-band fairness at a company's size? (issue 21)

Labelled rows are drawn from the seed generator with seeds the pipeline never uses (training uses
1234 + version), at 2,000, 5,000 and 20,000 rows (and 6,000 for the monitor's quarter), ``--draws``
samples each; every sample of a draw is the first N rows of one fresh 20,000-row frame. The truth is
each model's band recalls on ``--truth-rows`` further fresh rows. Models, trained as the pipeline
trains (params.yaml ``train:``, the 800-row dataset's training split, ``method.fitting.fit_model``):

* ``champion``: version 3 as packaged (column selection drops age);
* ``seed_lr``: the seed's logistic regression, four columns (selection none, calibration as params);
* ``v4_four_columns``: version 4 with age kept (selection none): an unfair model.

Every verdict is the project's own code: ``gate.rules.judge`` (the whole gate) at 2,000 and 5,000
rows and on ``--gate-draws-20k`` samples at 20,000 (its paired curve bootstrap is the slow part; an
identical candidate, whose curve differences are exactly 0 in every resample, on ``--identical-draws``), the
bias rule (``method.groups.bias_outcomes``, as ``judge`` applies it) and ``monitor.checks.fairness_check``
on every sample. Power curves beyond the drawn sizes draw the 13 cells (band x candidate decision x
production decision among positives, plus negatives) from their truth-set shares: the same
distribution as fresh rows, without scoring millions of them. Nothing here reads the generator's
formula; the models see only rows.

    .venv/bin/python bench/bench_fairness.py [--draws 200] [--truth-rows 1000000] [--gate-draws-20k 25]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from attrition.dataset import FEATURES, TARGET, age_band_labels, holdout_split, training_seed
from attrition.lifecycle.gate.curves import PairedRows
from attrition.lifecycle.gate.rules import judge
from attrition.method.fitting import fit_model
from attrition.method.groups import bias_outcomes, claim_alpha, compare_groups, gap_arrays
from attrition.method.synthetic import generate_frame
from attrition.monitor.checks import fairness_check
from attrition.params import Params, load_params

SIZES = (2000, 5000, 6000, 20000)  # 6,000: the monitor's quarter of labelled employees
GATE_SIZES = (2000, 5000, 20000)
TRUTH_SEED_BASE = 41_000_000  # + version
DRAW_SEED_BASE = 42_000_000  # + 100,000 * version + draw
CURVE_SIZES = (2000, 5000, 6000, 8000, 10000, 15000, 20000, 30000, 50000, 100000, 200000, 400000)
CURVE_DRAWS = 2000
# population version -> (candidate, production) scored on it
POPULATIONS = {3: ("champion", "seed_lr"), 4: ("v4_four_columns", "champion")}


@dataclass
class Trained:
    name: str
    model: Any
    threshold: float
    columns: list[str]

    def decide(self, frame: Any) -> tuple[np.ndarray, np.ndarray]:
        """Decisions at the packaged threshold, and the scores (the gate's curves need them)."""
        with threadpool_limits(limits=1, user_api="openmp"):  # 2 shared cores: spin-waits cost 5x
            scores = self.model.predict_proba(frame[FEATURES])[:, 1]
        return np.asarray(scores >= self.threshold), scores


def train_models(params: Params) -> dict[str, Trained]:
    """The three models, each trained as the pipeline trains its version."""
    none = params.train.selection.model_copy(update={"method": "none"})
    recipes = {
        "champion": (3, params.train),
        "seed_lr": (3, params.train.model_copy(update={"model": "logreg", "selection": none})),
        "v4_four_columns": (4, params.train.model_copy(update={"selection": none})),
    }
    trained = {}
    for name, (version, train_params) in recipes.items():
        data = generate_frame(version, params.generate.n_samples)
        split, _ = holdout_split(data, test_size=params.train.test_size, seed=params.train.split_seed)
        result = fit_model(split, train_params)
        trained[name] = Trained(name, result.model, result.threshold, list(result.columns))
    return trained


@dataclass
class Population:
    """One dataset version's truth and per-draw counts for its candidate and production."""

    version: int
    bands: list[str]
    truth_recall: dict[str, np.ndarray] = field(default_factory=dict)
    cells: np.ndarray = field(default_factory=lambda: np.zeros(0))  # shares: 12 positive cells + negatives
    # name -> size -> (draws, bands) arrays of hits and positives
    hits: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    positives: dict[int, np.ndarray] = field(default_factory=dict)
    gate: dict[str, dict[int, list[str]]] = field(default_factory=dict)  # case -> size -> verdicts
    unmet: dict[str, dict[int, list[str]]] = field(default_factory=dict)  # rules not passed, per draw
    monitor: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    shown: dict[str, dict[int, list[float]]] = field(default_factory=dict)  # gap the monitor displays

    def true_gap(self, name: str) -> float:
        return float(np.ptp(self.truth_recall[name]))


def band_counts(y: np.ndarray, decided: np.ndarray, bands: np.ndarray, names: list[str]) -> tuple[Any, Any]:
    one_hot = bands[:, None] == np.array(names)[None, :]
    return (one_hot & (y & decided)[:, None]).sum(0), (one_hot & y[:, None]).sum(0)


def measure(
    params: Params,
    models: dict[str, Trained],
    version: int,
    *,
    draws: int,
    truth_rows: int,
    gate_draws: dict[tuple[str, int], int],
) -> Population:
    edges = list(params.evaluate.age_bands)
    candidate, production = POPULATIONS[version]
    frame = generate_frame(version, truth_rows, seed=TRUTH_SEED_BASE + version)
    y = frame[TARGET].to_numpy().astype(bool)
    bands = age_band_labels(frame["age"], edges).to_numpy().astype(str)
    names = sorted(set(bands.tolist()))
    population = Population(version, names)
    decided = {name: models[name].decide(frame)[0] for name in (candidate, production)}
    for name, d in decided.items():
        hits, positives = band_counts(y, d, bands, names)
        population.truth_recall[name] = hits / positives
    index = np.searchsorted(names, bands) * 4 + decided[candidate] * 2 + decided[production]
    cells = np.bincount(index[y], minlength=4 * len(names)).astype(float)
    population.cells = np.append(cells, np.count_nonzero(~y)) / len(y)
    population.hits = {name: {n: np.zeros((draws, len(names))) for n in SIZES} for name in decided}
    population.positives = {n: np.zeros((draws, len(names))) for n in SIZES}
    gate_cases = {"full gate": (candidate, production), "full gate, identical": (candidate, candidate)}
    population.gate = {case: {n: [] for n in GATE_SIZES} for case in gate_cases}
    population.unmet = {case: {n: [] for n in GATE_SIZES} for case in gate_cases}
    population.monitor = {name: {n: [] for n in SIZES} for name in decided}
    population.shown = {name: {n: [] for n in SIZES} for name in decided}
    for draw in range(draws):
        seed = DRAW_SEED_BASE + 100_000 * version + draw
        assert seed != training_seed(version)
        sample = generate_frame(version, max(SIZES), seed=seed)
        ys = sample[TARGET].to_numpy().astype(bool)
        bs = age_band_labels(sample["age"], edges).to_numpy().astype(str)
        scored = {name: models[name].decide(sample) for name in decided}
        for n in SIZES:
            for name, (d, _) in scored.items():
                hits, positives = band_counts(ys[:n], d[:n], bs[:n], names)
                population.hits[name][n][draw], population.positives[n][draw] = hits, positives
                check = fairness_check(
                    "90d",
                    compare_groups(
                        ys[:n],
                        d[:n],
                        bs[:n],
                        alpha=params.monitor.fairness.alpha,
                        min_positives=params.monitor.fairness.min_positives_per_band,
                    ),
                    max_gap=params.monitor.fairness.max_gap,
                )
                population.monitor[name][n].append(check.verdict)
                shown = check.figures["gap"]["value"]
                population.shown[name][n].append(np.nan if shown is None else shown)
            if version != 3:
                continue
            for case, (c, p) in gate_cases.items():
                if draw >= gate_draws.get((case, n), 0):
                    continue
                rows = PairedRows(
                    ys[:n],
                    scored[c][1][:n],
                    scored[p][1][:n],
                    models[c].threshold,
                    models[p].threshold,
                    bs[:n],
                )
                judged = judge(rows, params.gate)
                population.gate[case][n].append(judged["verdict"])
                population.unmet[case][n] += [r["name"] for r in judged["rules"] if r["outcome"] != "pass"]
    return population


def bias_rule_rates(
    params: Params, c_hits: np.ndarray, p_hits: np.ndarray, positives: np.ndarray, burden: str
) -> dict[str, float]:
    """The gate's bias rule on count arrays (draws, bands): share of pass / fail / insufficient."""
    alpha = claim_alpha(params.gate.bias_alpha, burden)
    _, c_low, c_high, _ = gap_arrays(c_hits, positives, alpha)
    _, p_low, _, _ = gap_arrays(p_hits, positives, alpha)
    outcomes = bias_outcomes(
        c_low,
        c_high,
        p_low,
        thin=positives.min(axis=-1) < params.gate.min_positives_per_band,
        limit=params.gate.bias_limit,
        margin=params.gate.bias_noninferiority_margin,
        burden=burden,
    )
    return {k: float(np.mean(outcomes == k)) for k in ("pass", "fail", "insufficient_evidence")}


def cell_draws(population: Population, n: int, draws: int, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    """(candidate hits, production hits, positives), each (draws, bands), from the truth's cell shares."""
    counts = rng.multinomial(n, population.cells, size=draws)[:, :-1].reshape(draws, -1, 2, 2)
    return counts[:, :, 1, :].sum(-1), counts[:, :, :, 1].sum(-1), counts.sum((-1, -2))


def monitor_alert_rate(params: Params, hits: np.ndarray, positives: np.ndarray) -> float:
    """monitor.checks.fairness_check's alert, on count arrays (same bounds: method.groups.gap_arrays)."""
    fairness = params.monitor.fairness
    _, low, _, _ = gap_arrays(hits, positives, fairness.alpha)
    sufficient = positives.min(axis=-1) >= fairness.min_positives_per_band
    return float(np.mean(sufficient & (low > fairness.max_gap)))


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def report(params: Params, pops: dict[int, Population], draws: int, seconds: float) -> None:
    alpha = params.gate.bias_alpha
    level = 1 - 2 * alpha
    v3, v4 = pops[3], pops[4]
    print(f"\nTruth ({', '.join(v3.bands)} recall; gap = max - min):")
    for pop in (v3, v4):
        for name, recall in pop.truth_recall.items():
            shown = " / ".join(f"{r:.4f}" for r in recall)
            print(f"  v{pop.version} rows, {name}: {shown}; gap {pop.true_gap(name) * 100:.2f} pp")
    print()
    print(row("case", "target", "rows", "draws", "result", "met"))
    print(row(*["---"] * 6))
    for pop, name in ((v3, "champion"), (v3, "seed_lr"), (v4, "v4_four_columns")):
        truth = pop.true_gap(name)
        for n in GATE_SIZES:
            hits, positives = pop.hits[name][n], pop.positives[n]
            point, low, high, observed = gap_arrays(hits, positives, alpha)
            cover = float(np.mean((low <= truth) & (truth <= high)))
            target = ">= 90%" if name != "v4_four_columns" else "(info)"
            result = (
                f"{pct(cover)} cover {truth * 100:.2f} pp; shown {np.mean(point) * 100:.1f} pp "
                f"(observed range {np.mean(observed) * 100:.1f}); {level:.0%} interval "
                f"[{np.mean(low) * 100:.1f}, {np.mean(high) * 100:.1f}] pp; "
                f"positives/band {int(positives.min(1).mean())}-{int(positives.max(1).mean())}"
            )
            met = "yes" if cover >= 0.9 else ("no" if target != "(info)" else "")
            print(row(f"1 coverage, {name}", target, n, draws, result, met))
    for burden in ("unfairness", "fairness"):
        for label, pop, cand, prod, target, goal in (
            (
                "2 fair candidate (champion vs seed_lr)",
                v3,
                "champion",
                "seed_lr",
                "fail <= 5%",
                ("fail", 0.05, -1),
            ),
            (
                "3 v4 four columns vs champion",
                v4,
                "v4_four_columns",
                "champion",
                "fail >= 90% at 5,000",
                ("fail", 0.9, 1),
            ),
        ):
            for n in GATE_SIZES:
                rates = bias_rule_rates(
                    params, pop.hits[cand][n], pop.hits[prod][n], pop.positives[n], burden
                )
                key, bound, sign = goal
                judged = n == 5000 or "<= 5%" in target
                met = ("yes" if sign * (rates[key] - bound) >= 0 else "no") if judged else ""
                result = ", ".join(f"{k} {pct(v)}" for k, v in rates.items())
                print(row(f"{label}, bias rule, burden={burden}", target, n, draws, result, met))
    for case, target, pair in (
        ("full gate", "pass >= 80% at 5,000", "champion vs seed_lr"),
        ("full gate, identical", "pass 0%", "champion vs champion"),
    ):
        for n in GATE_SIZES:
            verdicts = v3.gate[case][n]
            if not verdicts:
                continue
            rates = {
                k: verdicts.count(k) / max(len(verdicts), 1)
                for k in ("pass", "fail", "insufficient_evidence")
            }
            ok = rates["pass"] >= 0.8 if "80%" in target else rates["pass"] == 0
            met = ("yes" if ok else "no") if (n == 5000 or "0%" in target) else ""
            result = ", ".join(f"{k} {pct(v)}" for k, v in rates.items())
            unmet = v3.unmet[case][n]
            if unmet:
                counts = {name: unmet.count(name) / len(verdicts) for name in sorted(set(unmet))}
                result += "; rules not passed: " + ", ".join(f"{k} {pct(v)}" for k, v in counts.items())
            print(row(f"4 {case} ({pair})", target, n, len(verdicts), result, met))
    for pop, name, target in (
        (v3, "champion", "alert <= 5% at 6,000"),
        (v4, "v4_four_columns", "alert >= 80% at 6,000"),
    ):
        for n in SIZES:
            verdicts = pop.monitor[name][n]
            rates = {k: verdicts.count(k) / len(verdicts) for k in ("alert", "ok", "insufficient_data")}
            met = ""
            if n == 6000:
                met = "yes" if (rates["alert"] <= 0.05 if "<=" in target else rates["alert"] >= 0.8) else "no"
            result = ", ".join(f"{k} {pct(v)}" for k, v in rates.items())
            limit = params.monitor.fairness.max_gap
            above = float(np.mean(np.array(pop.shown[name][n]) > limit))
            result += f"; gap shown > {limit * 100:.0f} pp: {pct(above)}"
            print(row(f"5 monitor fairness alert, {name}", target, n, draws, result, met))
    rng = np.random.default_rng(2026)
    curves: dict[str, list[tuple[int, float]]] = {}
    for n in CURVE_SIZES:
        c4, p4, pos4 = cell_draws(v4, n, CURVE_DRAWS, rng)
        c3, p3, pos3 = cell_draws(v3, n, CURVE_DRAWS, rng)
        curves.setdefault("gate fails v4_four_columns (burden=unfairness; target 90%)", []).append(
            (n, bias_rule_rates(params, c4, p4, pos4, "unfairness")["fail"])
        )
        curves.setdefault("monitor alerts on v4_four_columns (target 80%)", []).append(
            (n, monitor_alert_rate(params, c4, pos4))
        )
        curves.setdefault("gate passes champion vs seed_lr, burden=fairness (target 80%)", []).append(
            (n, bias_rule_rates(params, c3, p3, pos3, "fairness")["pass"])
        )
        curves.setdefault(
            f"gate fails seed_lr (gap {v3.true_gap('seed_lr') * 100:.1f} pp) vs champion, "
            "burden=unfairness (info)",
            [],
        ).append((n, bias_rule_rates(params, p3, c3, pos3, "unfairness")["fail"]))
    print(f"\nPower curves ({CURVE_DRAWS} cell draws per size from the truth's shares):")
    for name, points in curves.items():
        wanted = 0.9 if "90%" in name else 0.8
        reached = next((n for n, rate in points if rate >= wanted), None)
        shown = ", ".join(f"{n:,}: {pct(rate)}" for n, rate in points)
        where = f"reached at {reached:,} rows" if reached else f"not reached by {CURVE_SIZES[-1]:,} rows"
        print(f"  {name}: {shown}" + ("" if "info" in name else f" -> {where}"))
    print(f"\n{seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--truth-rows", type=int, default=1_000_000)
    parser.add_argument("--gate-draws-20k", type=int, default=25, help="full-gate samples at 20,000 rows")
    parser.add_argument(
        "--identical-draws", type=int, default=50, help="full-gate samples of an identical candidate"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    params = load_params(args.params)
    models = train_models(params)
    for name, trained in models.items():
        print(f"{name}: columns {','.join(trained.columns)}, threshold {trained.threshold:.4f}")
    pops = {
        version: measure(
            params,
            models,
            version,
            draws=args.draws,
            truth_rows=args.truth_rows,
            gate_draws={
                ("full gate", 2000): args.draws,
                ("full gate", 5000): args.draws,
                ("full gate", 20000): args.gate_draws_20k,
                ("full gate, identical", 2000): args.identical_draws,
                ("full gate, identical", 5000): args.identical_draws,
            },
        )
        for version in POPULATIONS
    }
    report(params, pops, args.draws, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
