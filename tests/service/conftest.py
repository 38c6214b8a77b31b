"""Service fixtures (one of each): batch scores, a shared live server, the kinds of token, and a real
PostgreSQL for the audit store (started only by the tests that ask for it).

`model_package`, `dataset_csv` and `package_copy` come from tests/conftest.py; the builders these
fixtures use live in tests/support/service.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attrition.pipeline.score import main as score_main
from tests.support.postgres import PostgresServer
from tests.support.service import Server, make_token, serve_in_thread, settings_for


@pytest.fixture(scope="session")
def scores_csv(model_package: Path, dataset_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The score stage's output for the fixture package and its dataset."""
    out = tmp_path_factory.mktemp("scores") / "batch_scores.csv"
    assert score_main(["--package", str(model_package), "--data", str(dataset_csv), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def live(model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One healthy server shared by a test module (read-mostly tests)."""
    tmp = tmp_path_factory.mktemp("live")
    with serve_in_thread(settings_for(tmp, model_package, scores_csv)) as server:
        yield server


@pytest.fixture
def predict_token() -> str:
    """A valid token with the attrition:predict scope."""
    return make_token("attrition:predict")


@pytest.fixture
def admin_token() -> str:
    """A valid token with the attrition:admin scope, subject 'operator'."""
    return make_token("attrition:admin", sub="operator")


@pytest.fixture
def decide_token() -> str:
    """A valid token with the attrition:decide scope, subject 'manager-1'."""
    return make_token("attrition:decide", sub="manager-1")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty audit store on each backend in turn (an ATTRITION_AUDIT_DB value)."""
    if request.param == "sqlite":
        return str(tmp_path / "audit" / "audit.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture(scope="session")
def metadata(model_package: Path) -> dict[str, Any]:
    """The served package's metadata.json."""
    return json.loads((model_package / "metadata.json").read_text())
