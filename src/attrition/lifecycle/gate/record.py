"""The gate's last step: the gate.json document, the lines a person reads, and writing the file.

The document names what was judged (both packages, the rows' md5, the limits) beside every figure
and rule, so a verdict can be checked later against dvc.lock and the registry's tags; the registry
carries the same document in the prod assignment's tag message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrition import canonical_json
from attrition.atomic import atomic_write_text
from attrition.lifecycle.gate.load import GateInputs
from attrition.lifecycle.gate.rules import judge
from attrition.params import GateParams


def gate_document(inputs: GateInputs, judged: dict[str, Any], params: GateParams) -> dict[str, Any]:
    """gate.json: the verdict, what was judged, the limits, and the figures and rules of `judge`."""
    figures = dict(judged)
    return {
        "verdict": figures.pop("verdict"),
        "candidate": inputs.candidate,
        "production": inputs.production,
        "data": {
            **inputs.data,
            "rows": figures.pop("rows"),
            "positives": figures.pop("positives"),
            "positives_by_age_band": figures.pop("positives_by_age_band"),
        },
        "params": params.model_dump(mode="json"),
        **figures,
    }


def judged_document(inputs: GateInputs, params: GateParams) -> dict[str, Any]:
    """Judge loaded inputs and record the result: the one step both `attrition gate` and promote take."""
    return gate_document(inputs, judge(inputs.rows, params), params)


def summary_lines(document: dict[str, Any]) -> list[str]:
    """What a person reads: one line per rule, then the verdict."""
    data = document["data"]
    lines = [
        f"gate: candidate {document['candidate']['model_version']} vs production "
        f"{document['production']['model_version']} on {data['rows']} rows ({data['positives']} positives)"
    ]
    lines += [f"  {rule['outcome']:<21} {rule['name']}: {rule['detail']}" for rule in document["rules"]]
    lines.append(f"verdict: {document['verdict']}")
    return lines


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write gate.json whole or not at all."""
    atomic_write_text(path, canonical_json.json_text(document))
