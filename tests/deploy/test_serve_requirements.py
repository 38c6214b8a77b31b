"""The serving image's requirement set covers what the service imports (the fast check of `make test`).

`make image-test` proves it by building the image; this catches the usual slip, a new module-level
import of a library only the full venv has, in seconds: the orjson slip of issue 26 reached the
image build on a fresh clone before anything else noticed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVE_REQUIREMENTS = REPO / "deploy" / "docker" / "requirements-serve.txt"
# What the image runs at start-up (its Dockerfile's import check, and `attrition serve`).
SERVICE_MODULES = (
    "attrition.service.app",
    "attrition.service.commands.serve",
    "attrition.audit.writer",
    "attrition.audit.loop_commit",
    "uvicorn",
    "uvloop",
    "httptools",
)
# Imported only where installed, so the dev venv loads them and the image does without.
ONLY_IF_INSTALLED = {
    "setuptools": "its .pth file imports _distutils_hack in every interpreter of a venv that has it",
    "sniffio": "anyio._core._eventloop tries it and falls back to asyncio",
    "watchfiles": "uvicorn.supervisors picks it for --reload when present",
    "pygments": "Mako's utilities load their Pygments plugin when present",
}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement and not requirement.startswith("-"):
            names.add(_normalized(re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0]))
    return names


def _distributions_imported() -> set[str]:
    """Distributions of every top-level module a fresh interpreter holds after the service's imports."""
    code = (
        f"import json, sys; import {', '.join(SERVICE_MODULES)}; "
        "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    owners = packages_distributions()
    return {_normalized(dist) for module in json.loads(done.stdout) for dist in owners.get(module, [])}


def test_every_library_the_service_imports_is_in_the_serving_image() -> None:
    imported = _distributions_imported()
    assert {"fastapi", "uvicorn", "sqlalchemy", "orjson"} <= imported  # the probe sees real imports
    missing = imported - _pinned(SERVE_REQUIREMENTS) - set(ONLY_IF_INSTALLED) - {"attrition"}
    assert not missing, f"imported by the service but not in {SERVE_REQUIREMENTS.name}: {sorted(missing)}"


def test_the_serving_image_stays_without_the_training_stack() -> None:
    """The slim image scores from model.json: importing the service must not pull these in."""
    assert not _distributions_imported() & {"numpy", "pandas", "scikit-learn", "scipy", "dvc", "joblib"}
