"""The words of a reason, and explanation.json's reader: what a manager reads, and what is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from attrition.modelpkg.explain import Explanation, ExplanationError
from attrition.modelpkg.explanation import PlainWords, load_explainer
from attrition.params import ParamsError, parse_params

LEVELS = [10, 20, 30, 40, 50, 60, 70, 80, 90]
INCOME_SALES = [2500.0, 2800.0, 3100.0, 3400.0, 3700.0, 4100.0, 4600.0, 5200.0, 6100.0]
SECTION: dict[str, Any] = {
    "group_by": "job_role",
    "levels": LEVELS,
    "min_group_rows": 30,
    "top_reasons": 2,
    "min_contribution": 0.005,
    "columns": {
        "monthly_income": {
            "all": [3000.0, 3500.0, 4000.0, 4500.0, 5000.0, 5500.0, 6000.0, 7000.0, 8000.0],
            "groups": {"Sales": INCOME_SALES},
        },
        "years_at_company": {"all": [0, 1, 2, 3, 4, 5, 7, 9, 12], "groups": {}},
    },
}
SALES_HIRE = {"age": 24, "job_role": "Sales", "monthly_income": 2600.0, "years_at_company": 0}


@pytest.mark.parametrize(
    ("income", "standing"),
    [
        (2400.0, "is lower than about 90% of colleagues in Sales"),
        (2600.0, "is lower than about 80% of colleagues in Sales"),
        (3000.0, "is lower than about 70% of colleagues in Sales"),
        (3600.0, "is lower than about 50% of colleagues in Sales"),
        (3800.0, "is higher than about 50% of colleagues in Sales"),
        (5500.0, "is higher than about 80% of colleagues in Sales"),
        (9000.0, "is higher than about 90% of colleagues in Sales"),
    ],
)
def test_a_number_is_placed_among_its_role(income: float, standing: str) -> None:
    row = {**SALES_HIRE, "monthly_income": income}
    said = PlainWords(SECTION).sentence("monthly_income", income, row, 0.21)
    assert said == f"monthly income {income:,.0f} {standing}: +0.21"


def test_a_role_too_small_for_its_own_percentiles_is_compared_with_everyone() -> None:
    row = {**SALES_HIRE, "job_role": "HR"}
    said = PlainWords(SECTION).sentence("monthly_income", 2600.0, row, -0.03)
    assert said == "monthly income 2,600 is lower than about 90% of all employees: -0.03"


def test_a_category_is_named() -> None:
    assert PlainWords(SECTION).sentence("job_role", "Sales", SALES_HIRE, 0.05) == "job role Sales: +0.05"


def test_reasons_are_the_largest_contributions_first_and_small_ones_are_not_worded() -> None:
    explanation = Explanation(
        0.16, 0.5, (("monthly_income", 0.12), ("years_at_company", 0.2), ("job_role", 0.001))
    )
    reasons = PlainWords({**SECTION, "top_reasons": 3}).reasons(explanation, SALES_HIRE)
    assert [r.input for r in reasons] == ["years_at_company", "monthly_income"]  # job_role < 0.005
    assert reasons[0].text == "years at company 0 is lower than about 90% of all employees: +0.20"
    two = PlainWords(SECTION).reasons(
        Explanation(0.2, 0.2, (("a", -0.3), ("b", 0.1), ("c", 0.2))), {"a": 1, "b": 2, "c": 3}
    )
    assert [r.input for r in two] == ["a", "c"]  # by size, whichever the sign; top_reasons 2


def test_no_colleagues_value_is_ever_printed() -> None:
    """The cut points are the training rows' percentiles: a sentence says where, never what."""
    words = PlainWords(SECTION)
    for income in (2000.0, 3300.0, 4000.0, 12000.0):
        said = words.sentence("monthly_income", income, {**SALES_HIRE, "monthly_income": income}, 0.1)
        assert not any(f"{cut:,.0f}" in said for cut in INCOME_SALES if cut != income)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other"), "format 'other'"),
        (lambda d: d.update(measured_in="log_odds"), "measured in probability"),
        (lambda d: d["plain_words"].update(levels=[]), "levels"),
        (lambda d: d["plain_words"]["columns"]["monthly_income"].update(all=[1.0]), "one per level"),
        (lambda d: d["background"].update(rows=[[1.0]]), "one value per column"),
        (lambda d: d["background"].update(rows=[["x", 1, "Sales"]]), "background row"),
    ],
)
def test_an_unusable_document_is_refused_in_one_line(
    change: Any, message: str, model_data: dict[str, Any], document: dict[str, Any]
) -> None:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(ExplanationError, match=message):
        load_explainer(model_data, broken)


def test_an_explain_parameter_out_of_range_is_named() -> None:
    with pytest.raises(ParamsError, match=r"explain\.background_rows"):
        parse_params({"version": 3, "explain": {"background_rows": 0}})
    with pytest.raises(ParamsError, match=r"unknown key 'explain\.rows'"):
        parse_params({"version": 3, "explain": {"rows": 10}})


@pytest.fixture
def model_data() -> dict[str, Any]:
    """A one-tree model over income, tenure and a one-hot role: enough for the reader's checks."""
    return {
        "format": "attrition.compiled-model",
        "format_version": 1,
        "family": "hgb",
        "features": [
            {"column": "monthly_income", "kind": "pass"},
            {"column": "years_at_company", "kind": "pass"},
            {"column": "job_role", "kind": "onehot", "categories": ["HR", "Sales"]},
        ],
        "hgb": {
            "baseline": -1.0,
            "trees": [
                {
                    "feature": [0, 0, 0],
                    "threshold": [3000.0, 0.0, 0.0],
                    "left": [1, 0, 0],
                    "right": [2, 0, 0],
                    "value": [0.0, 0.8, -0.2],
                    "is_leaf": [False, True, True],
                    "missing_left": [False, False, False],
                }
            ],
        },
    }


@pytest.fixture
def document() -> dict[str, Any]:
    return {
        "format": "attrition.explanation",
        "format_version": 1,
        "measured_in": "probability",
        "background": {
            "columns": ["monthly_income", "years_at_company", "job_role"],
            "rows": [[2500.0, 1, "Sales"], [5000.0, 4, "HR"]],
        },
        "plain_words": SECTION,
        "samples": [],
    }


def test_the_reader_gives_reasons_for_a_valid_document(
    model_data: dict[str, Any], document: dict[str, Any]
) -> None:
    why = load_explainer(model_data, document).why(SALES_HIRE)
    assert why.explanation.as_dict()["monthly_income"] > 0  # below 3,000: the tree's +0.8 leaf
    assert why.explanation.as_dict()["job_role"] == 0.0  # the tree never looks at the role
    assert why.reasons[0].text.startswith(
        "monthly income 2,600 is lower than about 80% of colleagues in Sales"
    )
    assert why.record()["reasons"] == [reason.text for reason in why.reasons]
