"""Schemathesis fuzzes every operation of the live OpenAPI schema: valid and invalid inputs alike
must never produce a 5xx, and every answer must match what the schema documents.

Bounded: a fixed number of examples per operation and mode, no shrinking, derandomized, so the run
is quick and repeatable. (Operations are iterated by hand because schemathesis' lazy
`from_fixture` parametrization does not work with this pytest version.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.service import Server, make_token

pytestmark = pytest.mark.e2e  # a served app fuzzed over HTTP: not the unit tier (`make unit`)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = {GenerationMode.POSITIVE: 100, GenerationMode.NEGATIVE: 150}


@pytest.fixture(scope="module")
def operations(live: Server) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


WITH_INPUT = ["POST /predict", "POST /predict/batch", "GET /scores/{employee_id}", "POST /decisions"]
OPERATIONS = [*WITH_INPUT, "GET /healthz", "GET /readyz", "GET /metrics"]
CASES = [(name, GenerationMode.POSITIVE) for name in OPERATIONS] + [
    (name, GenerationMode.NEGATIVE)
    for name in WITH_INPUT  # nothing to negate elsewhere
]


def test_schema_lists_every_operation(operations: dict[str, Any]) -> None:
    assert set(OPERATIONS) | {"POST /admin/reload"} == set(operations)


@pytest.mark.parametrize(("name", "mode"), CASES, ids=[f"{n}-{m.value}" for n, m in CASES])
def test_no_input_breaks_the_api(
    live: Server, operations: dict[str, Any], name: str, mode: GenerationMode
) -> None:
    token = make_token("attrition:predict attrition:decide attrition:admin", sub="fuzzer", ttl=3600)
    seen: list[int] = []

    @given(case=operations[name].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
        seen.append(response.status_code)

    run()
    assert seen, "no example was generated"
    assert max(seen) < 500
    if mode is GenerationMode.POSITIVE and name.startswith("POST /predict"):
        assert 200 in seen, "schema-valid bodies should mostly be scored"
    with live.client() as client:
        assert client.get("/healthz").status_code == 200
