"""The live OpenAPI schema: the package's role enum, bounds, and each guarded route's scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from attrition.service.schemas import MAX_BATCH
from tests.support.service import (
    Server,
)


@pytest.fixture(scope="module")
def metadata(model_package: Path) -> dict[str, Any]:
    return json.loads((model_package / "metadata.json").read_text())


def test_openapi_docs_and_role_enum(live: Server, metadata: dict[str, Any]) -> None:
    with live.client() as client:
        schema = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    employee = schema["components"]["schemas"]["EmployeeFeatures"]
    assert employee["properties"]["job_role"]["enum"] == metadata["features"]["job_roles"]
    assert employee["additionalProperties"] is False
    batch = schema["components"]["schemas"]["BatchRequest"]["properties"]["employees"]
    assert batch["maxItems"] == MAX_BATCH
    assert schema["components"]["securitySchemes"]["OAuth2BearerJWT"]["scheme"] == "bearer"
    paths = schema["paths"]
    assert paths["/predict"]["post"]["security"] == [{"OAuth2BearerJWT": ["attrition:predict"]}]
    assert paths["/scores/{employee_id}"]["get"]["security"] == [{"OAuth2BearerJWT": ["attrition:predict"]}]
    assert paths["/admin/reload"]["post"]["security"] == [{"OAuth2BearerJWT": ["attrition:admin"]}]
    assert "security" not in paths["/healthz"]["get"]
    assert {
        "/predict",
        "/predict/batch",
        "/scores/{employee_id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/admin/reload",
    } <= set(schema["paths"])
