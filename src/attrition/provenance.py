"""Where an output came from: the code identity recorded inside outputs, and the run record beside them.

Two kinds of lineage with two homes. The code identity (SHA-256 of the project modules a stage ran)
is content: it goes into the training record and the package, and is the same on every machine. The
run record (start time, duration, host, git commit, whether tracked sources differed from it) belongs
to one run: it is written next to the outputs, git-ignored and outside DVC's hashes, so rebuilding a
commit changes nothing git tracks. The registry copies the run record of a released package into git.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from attrition.atomic import atomic_write_text


class CodeIdentity(BaseModel):
    """Which source built an output: SHA-256 of every project module the stage process had loaded.

    Only modules a stage imports count (dvc.yaml's deps cover them, which a test checks), so a change
    anywhere else neither reruns the stage nor changes this record.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    digest: str
    modules: dict[str, str]


# Entry points that only route argv to a stage module; they never touch data, so a new subcommand
# must not change every model's code identity.
DISPATCH_FILES = frozenset({"attrition/cli.py", "attrition/__main__.py"})

# Tracked paths a rebuild rewrites by itself; a difference there says nothing about the source.
EXCLUDE_GENERATED = (":!dvc.lock", ":!metrics")


def code_identity() -> CodeIdentity:
    """Hash every project module loaded in this process (call at the end of a stage's work).

    Modules are found by file, not by name, so a stage run as ``python -m attrition.pipeline.train`` (named
    ``__main__``) and as ``attrition train`` record the same identity.
    """
    import attrition

    package_dir = Path(attrition.__file__).resolve().parent
    root = package_dir.parent
    modules: dict[str, str] = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        name = path.relative_to(root).as_posix() if path.is_relative_to(package_dir) else None
        if name is not None and name not in DISPATCH_FILES:
            modules[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    ordered = dict(sorted(modules.items()))
    listing = "".join(f"{digest}  {name}\n" for name, digest in ordered.items())
    return CodeIdentity(digest=hashlib.sha256(listing.encode()).hexdigest(), modules=ordered)


def git_state(cwd: Path) -> dict[str, Any]:
    """HEAD's commit and whether tracked sources or params differ from it (None outside git)."""
    try:
        head = _git(["rev-parse", "HEAD"], cwd)
        changed = _git(
            ["status", "--porcelain", "--untracked-files=no", "--", ".", *EXCLUDE_GENERATED],
            cwd,
        )
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "source_dirty": None}
    return {"commit": head, "source_dirty": bool(changed)}


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def run_facts(*, stage: str, started: float, duration_s: float, produced: dict[str, Any]) -> dict[str, Any]:
    """Everything about one run that is not content: the build record."""
    return {
        "stage": stage,
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "duration_s": round(duration_s, 3),
        "host": socket.gethostname(),
        "user": _user(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "argv": sys.argv,
        **git_state(Path.cwd()),
        "produced": produced,
    }


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def write_run_record(
    path: Path, *, stage: str, started: float, duration_s: float, produced: dict[str, Any]
) -> None:
    """Write the run record; a failure to write it is reported but never fails the stage's outputs."""
    facts = run_facts(stage=stage, started=started, duration_s=duration_s, produced=produced)
    try:
        atomic_write_text(path, json.dumps(facts, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        print(f"warning: run record {path} not written ({error.strerror or error})", file=sys.stderr)
