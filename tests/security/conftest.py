"""Fixtures of the security tier (issue 27): each finding reproduced against a real `attrition serve`.

`model_package` comes from tests/conftest.py and `scores_csv` from tests/service/conftest.py (imported
here so this directory can run alone); the builders live in tests/security/support.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import Live, served
from tests.service.conftest import scores_csv  # noqa: F401  (the session fixture, reused)


@pytest.fixture(scope="module")
def hardened(
    model_package: Path,
    scores_csv: Path,  # noqa: F811  (the imported fixture, requested by name)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    """A server with the default settings (not development mode), shared by a module."""
    tmp = tmp_path_factory.mktemp("hardened")
    with served(tmp, model_package, scores_csv) as live:
        yield live
