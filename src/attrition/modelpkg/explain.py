"""Why a score: each input's exact Shapley contribution to one employee's probability, from model.json.

What a contribution is. The players are the model's *input columns* (job_role is one player, not its
one-hot columns; an input the model does not use, such as a dropped age, is no player and would get
exactly 0). The game is the interventional one over a background sample B of training rows (stored in
the package): v(S) = mean over b in B of f(x_S, b_notS), the model's probability of attrition for
the row that takes this employee's values on S and the background row's elsewhere. Contributions are
measured in **probability**, the unit a manager reads ("+0.21": this input moves the score 21 points
above the background's average), not in log-odds. They add up: ``baseline + sum(contributions) ==
probability`` with ``baseline = v(empty set)``, the mean probability over the background.

Exact, and fast enough for every request. With n <= 4 inputs there are 2**n coalitions; evaluating
f on every hybrid row would cost 2**n x |B| scorer calls (milliseconds). Two facts make it cheap:

* A tree model is piecewise constant in each input between the thresholds its trees split that input
  at, so an input's value only matters through its *bin* (and a category through its position). The
  probability on the grid of bins is computed once per load, and for each coalition S a table indexed
  by the employee's bins on S holds v(S) already averaged over the background (rows that share their
  bins on the other inputs collapse into one with a weight). A cell's explanation then costs 2**n
  table look-ups, once: it is kept for the next employee in the same cell (there are at most
  MAX_TABLE_CELLS), so a request costs n bisections and a dictionary look-up.
* Anything else (logistic regression, or trees whose grid would exceed MAX_TABLE_CELLS) is scored
  exactly on every hybrid row, with background rows that agree on the other inputs merged: slower
  (about a millisecond for a logistic model), still exact.

The tables hold sums of the very floats the scorer computes (a bin's representative value takes the
same path through every tree as any value of the bin), so contributions agree with the scikit-learn
pipeline's predict_proba on the same hybrid rows to rounding (tests: 1e-9). Pure Python: the serving
image imports it without numpy or scikit-learn.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from attrition.modelpkg.scorer import CompiledScorer, ModelDataError, Row, scorer_from_data

# Cells of all coalition tables together (prod over inputs of bins + 1); above it, exact direct scoring.
MAX_TABLE_CELLS = 200_000

Slice = tuple[float, ...]  # one input column's part of the feature vector


class ExplanationError(ValueError):
    """A background or model the explainer cannot use (one-line message)."""


@dataclass(frozen=True)
class Explanation:
    """One employee's contributions (input -> probability points), in the model's column order."""

    baseline: float  # v(empty set): the mean probability over the background rows
    probability: float  # v(all inputs): the model's probability for this employee
    contributions: tuple[tuple[str, float], ...]

    def as_dict(self) -> dict[str, float]:
        return dict(self.contributions)


def _columns(scorer: CompiledScorer) -> tuple[list[str], list[list[int]], bool]:
    """The model's input columns in order of first appearance, each one's feature positions, and
    whether every column is one step (a number, or one one-hot block), which binning needs."""
    names: list[str] = []
    positions: dict[str, list[int]] = {}
    steps: Counter[str] = Counter()
    at = 0
    for column, kind, payload in scorer.steps:
        width = len(payload) if kind == "onehot" else 1
        if column not in positions:
            names.append(column)
            positions[column] = []
        positions[column].extend(range(at, at + width))
        steps[column] += 1
        at += width
    return names, [positions[name] for name in names], max(steps.values()) == 1


def _shapley_terms(n: int) -> list[list[tuple[int, int, float]]]:
    """Per player i: (coalition without i, with i, weight |S|!(n-|S|-1)!/n!) for every S not holding i."""
    terms: list[list[tuple[int, int, float]]] = []
    for i in range(n):
        bit = 1 << i
        terms.append(
            [
                (
                    mask,
                    mask | bit,
                    math.factorial(size := mask.bit_count())
                    * math.factorial(n - size - 1)
                    / math.factorial(n),
                )
                for mask in range(1 << n)
                if not mask & bit
            ]
        )
    return terms


class Explainer:
    """Exact Shapley contributions of a compiled model's inputs over a fixed background sample.

    Built once per model load by :func:`build_explainer`; :meth:`explain` is then cheap and pure.
    `thresholds` (feature position -> split thresholds) marks a tree model, whose bins make tables.
    """

    def __init__(
        self,
        scorer: CompiledScorer,
        background: Sequence[Row],
        thresholds: dict[int, set[float]] | None = None,
    ) -> None:
        if not background:
            raise ExplanationError("the background sample is empty")
        self.scorer = scorer
        self.columns, self._positions, simple = _columns(scorer)
        n = len(self.columns)
        if n > 8:
            raise ExplanationError(f"{n} inputs: exact Shapley values need 2**n coalitions")
        self._full = (1 << n) - 1
        self._terms = _shapley_terms(n)
        try:
            vectors = [scorer.features(row) for row in background]
        except (KeyError, TypeError, ValueError) as error:
            raise ExplanationError(f"a background row lacks or garbles an input ({error})") from None
        self.background_rows = len(vectors)
        self._tables = (
            _CoalitionTables.build(scorer, self._positions, vectors, thresholds)
            if thresholds is not None and simple
            else None
        )
        self._direct = None if self._tables is not None else _DirectGame(scorer, self._positions, vectors)
        self.strategy = "tables" if self._tables is not None else "direct"
        # A tree model's explanation depends only on the bins: each cell's is computed once, on first
        # use (at most the grid's cells, bounded by MAX_TABLE_CELLS), then shared by every answer.
        self._memo: dict[tuple[int, ...], Explanation] = {}
        self.baseline = self.explain(background[0]).baseline

    def _combine(self, values: list[float]) -> Explanation:
        """The Shapley formula over v(S) for every coalition S (bit i set: input i takes the row's value)."""
        contributions = tuple(
            (column, math.fsum(w * (values[with_i] - values[without]) for without, with_i, w in terms))
            for column, terms in zip(self.columns, self._terms, strict=True)
        )
        return Explanation(values[0], values[self._full], contributions)

    def explain(self, row: Row) -> Explanation:
        """Contributions of each input to this row's probability (see the module docstring)."""
        x = self.scorer.features(row)
        if self._tables is None:
            assert self._direct is not None
            return self._combine(self._direct.values(x))
        cell = self._tables.codes(x)
        known = self._memo.get(cell)
        if known is None:
            known = self._memo[cell] = self._combine(self._tables.values(cell))
        return known

    def mean_abs_contributions(self, rows: Sequence[Row]) -> dict[str, float]:
        """Each input's mean |contribution| over rows: what the model relies on (the model card)."""
        totals = dict.fromkeys(self.columns, 0.0)
        for row in rows:
            for column, value in self.explain(row).contributions:
                totals[column] += abs(value)
        return {column: total / len(rows) for column, total in totals.items()} if rows else totals


def _slice(x: list[float], positions: list[int]) -> Slice:
    return tuple(x[p] for p in positions)


class _DirectGame:
    """v(S) scored on every distinct hybrid row: for models that are not piecewise constant."""

    def __init__(
        self, scorer: CompiledScorer, positions: list[list[int]], vectors: list[list[float]]
    ) -> None:
        self._scorer = scorer
        self._positions = positions
        n = len(positions)
        weight = 1.0 / len(vectors)
        rows = [tuple(_slice(x, p) for p in positions) for x in vectors]
        # Per coalition: the background's distinct values on the inputs outside it, with their weights.
        self._others: list[list[tuple[list[tuple[list[int], Slice]], float]]] = []
        for mask in range(1 << n):
            outside = [j for j in range(n) if not mask >> j & 1]
            counts = Counter(tuple(row[j] for j in outside) for row in rows)
            self._others.append(
                [
                    ([(positions[j], key[k]) for k, j in enumerate(outside)], count * weight)
                    for key, count in counts.items()
                ]
            )
        self._empty = self._value(vectors[0], 0)

    def _value(self, x: list[float], mask: int) -> float:
        total = []
        for replacements, weight in self._others[mask]:
            hybrid = list(x)
            for where, values in replacements:
                for p, v in zip(where, values, strict=True):
                    hybrid[p] = v
            total.append(weight * self._scorer.probability(hybrid))
        return math.fsum(total)

    def values(self, x: list[float]) -> list[float]:
        n = len(self._positions)
        return [self._empty if mask == 0 else self._value(x, mask) for mask in range(1 << n)]


class _Coder:
    """An input's bin: where its value falls among the thresholds the trees split it at."""

    def __init__(self, positions: list[int], thresholds: set[float]) -> None:
        self.positions = positions
        if len(positions) == 1:  # a number: bins between sorted thresholds, then NaN
            self.cuts = sorted(thresholds)
            last = math.nextafter(self.cuts[-1], math.inf) if self.cuts else 0.0
            self.representatives: list[Slice] = [*((c,) for c in self.cuts), (last,), (math.nan,)]
        else:  # one-hot: its category's position, then "unknown" (all zeros)
            self.cuts = []
            width = len(positions)
            self.representatives = [
                tuple(1.0 if k == i else 0.0 for k in range(width)) for i in range(width + 1)
            ]

    def code(self, x: list[float]) -> int:
        if len(self.positions) == 1:
            value = x[self.positions[0]]
            return len(self.cuts) + 1 if value != value else bisect.bisect_left(self.cuts, value)
        part = _slice(x, self.positions)
        return part.index(1.0) if 1.0 in part else len(part)


def _tree_thresholds(model_data: Mapping[str, Any]) -> dict[int, set[float]] | None:
    """Feature position -> the thresholds any tree splits it at; None for a model without trees.

    Read from model data that scorer_from_data has already accepted, so the arrays are consistent.
    """
    if model_data.get("family") != "hgb":
        return None
    found: dict[int, set[float]] = {}
    for tree in model_data["hgb"]["trees"]:
        for feature, threshold, leaf in zip(tree["feature"], tree["threshold"], tree["is_leaf"], strict=True):
            if not leaf:
                found.setdefault(int(feature), set()).add(float(threshold))
    return found


class _CoalitionTables:
    """Per coalition S, v(S) for every combination of bins on S, averaged over the background once."""

    def __init__(self, coders: list[_Coder], tables: list[list[float]], strides: list[list[tuple[int, int]]]):
        self._coders = coders
        self._tables = tables
        self._strides = strides

    @classmethod
    def build(
        cls,
        scorer: CompiledScorer,
        positions: list[list[int]],
        vectors: list[list[float]],
        thresholds: dict[int, set[float]],
    ) -> _CoalitionTables | None:
        coders = [_Coder(p, set().union(*(thresholds.get(q, set()) for q in p))) for p in positions]
        sizes = [len(c.representatives) for c in coders]
        if math.prod(size + 1 for size in sizes) > MAX_TABLE_CELLS:
            return None
        n = len(coders)
        # The probability on every cell of the grid of bins (last input varies fastest).
        width = sum(len(p) for p in positions)
        grid: list[float] = []
        for cell in itertools.product(*(range(size) for size in sizes)):
            x = [0.0] * width
            for coder, code in zip(coders, cell, strict=True):
                for p, v in zip(coder.positions, coder.representatives[code], strict=True):
                    x[p] = v
            grid.append(scorer.probability(x))
        grid_strides = [math.prod(sizes[j + 1 :]) for j in range(n)]
        weight = 1.0 / len(vectors)
        codes = Counter(tuple(c.code(x) for c in coders) for x in vectors)
        tables: list[list[float]] = []
        strides: list[list[tuple[int, int]]] = []
        for mask in range(1 << n):
            inside = [j for j in range(n) if mask >> j & 1]
            outside = [j for j in range(n) if not mask >> j & 1]
            local = [math.prod(sizes[k] for k in inside[i + 1 :]) for i in range(len(inside))]
            others = Counter(tuple(key[j] for j in outside) for key in codes.elements())
            # Where each distinct background projection sits in the grid, with its weight.
            offsets = [
                (sum(code * grid_strides[j] for code, j in zip(key, outside, strict=True)), count * weight)
                for key, count in others.items()
            ]
            table: list[float] = []
            for cell in itertools.product(*(range(sizes[j]) for j in inside)):
                base = sum(code * grid_strides[j] for code, j in zip(cell, inside, strict=True))
                table.append(math.fsum(w * grid[base + offset] for offset, w in offsets))
            tables.append(table)
            strides.append(list(zip(inside, local, strict=True)))
        return cls(coders, tables, strides)

    def codes(self, x: list[float]) -> tuple[int, ...]:
        """The cell of the grid of bins a feature vector falls in."""
        return tuple(coder.code(x) for coder in self._coders)

    def values(self, codes: tuple[int, ...]) -> list[float]:
        """v(S) for every coalition S at a cell: one look-up per coalition."""
        return [
            table[sum(codes[j] * stride for j, stride in strides)]
            for table, strides in zip(self._tables, self._strides, strict=True)
        ]


def build_explainer(model_data: Mapping[str, Any], background: Sequence[Row]) -> Explainer:
    """The explainer for model.json's model over background rows (each a mapping of the model's inputs).

    Raises ExplanationError (one line) for model data or a background it cannot use.
    """
    try:
        scorer = scorer_from_data(model_data)
    except ModelDataError as error:
        raise ExplanationError(f"model data: {error}") from None
    return Explainer(scorer, background, _tree_thresholds(model_data))


def background_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The background sample of an explanation document as rows (column -> value)."""
    section = document.get("background")
    if not isinstance(section, dict):
        raise ExplanationError("background is not an object")
    columns, rows = section.get("columns"), section.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list) or not rows:
        raise ExplanationError("background lacks its columns or rows")
    if not all(isinstance(row, list) and len(row) == len(columns) for row in rows):
        raise ExplanationError("a background row does not have one value per column")
    return [dict(zip(columns, row, strict=True)) for row in rows]
