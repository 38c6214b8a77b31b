"""The live OpenAPI schema: the package's role enum, bounds, and each guarded route's scope."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from attrition.service.schemas import MAX_BATCH
from tests.support.service import (
    Server,
)


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


class _References(HTMLParser):
    """Every src/href attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_render_with_no_internet(live: Server, page: str) -> None:
    with live.client() as client:
        reply = client.get(page)
        assert reply.status_code == 200
        assert "://" not in reply.text  # no CDN, no fonts, no validator: nothing outside this server
        parser = _References()
        parser.feed(reply.text)
        scripts = [url for url in parser.urls if url.endswith(".js")]
        assert scripts, "the page loads its UI from a script"
        for url in parser.urls:
            assert url.startswith("/"), url
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > (100_000 if url.endswith(".js") else 1000), url


def test_employee_id_is_documented_as_echoed_not_looked_up(live: Server) -> None:
    with live.client() as client:
        schema = client.get("/openapi.json").json()
    schemas = schema["components"]["schemas"]
    assert "NOT looked up" in schemas["EmployeeFeatures"]["properties"]["employee_id"]["description"]
    assert "not looked up" in schemas["Prediction"]["properties"]["employee_id"]["description"]
    assert "never looked up" in schema["paths"]["/predict"]["post"]["description"]


def test_the_feature_set_rule_and_the_feature_origin_are_documented(live: Server) -> None:
    with live.client() as client:
        schema = client.get("/openapi.json").json()
    schemas = schema["components"]["schemas"]
    employee = schemas["EmployeeFeatures"]
    assert "required" not in employee  # each of the two alternatives below requires its own fields
    assert employee["anyOf"][0] == {"required": ["age", "job_role", "monthly_income", "years_at_company"]}
    assert employee["anyOf"][1]["required"] == ["employee_id"]
    assert employee["properties"]["age"]["type"] == "integer"  # omitted, never null
    assert "looked up in the online feature store" in employee["properties"]["employee_id"]["description"]
    prediction = schemas["Prediction"]["properties"]
    for name in ("feature_source", "features", "feature_table_version", "features_as_of"):
        assert prediction[name]["description"], name
    responses = schema["paths"]["/predict"]["post"]["responses"]
    assert {"404", "410", "422", "503"} <= set(responses)
