"""The registry's plumbing: GTO and DVC through their Python APIs, git as bounded subprocesses, and
GTO's records read as rows.

GTO runs in this process (``gto.api``, the functions its own CLI calls, with the CLI's defaults): a
`gto` subprocess spends 0.3 s of its 0.33 s importing GTO, and a promotion asks it five times. DVC's
`artifacts get`, `get` and `status` run in this process too (the classmethods and `Repo.status` its
CLI commands call): a `dvc artifacts get` subprocess took 1.32 s where the call took 0.72 s plus a
0.16 s import paid once, and a promotion fetches two packages and an evaluation set.
Nothing here decides anything: what may be proposed, promoted or rolled back is
:mod:`attrition.lifecycle.registry.api`. Every failure is a one-line :class:`RegistryError`.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gto.api
from gto.utils import make_ready_to_serialize

ARTIFACT = "attrition-model"
STAGES = ("staging", "prod")
COMMAND_TIMEOUT_S = 300


class RegistryError(RuntimeError):
    """A registry operation that cannot proceed; the message is one line. `code` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def run(args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one git command, bounded in time; a failure becomes a one-line RegistryError."""
    try:
        completed = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RegistryError(f"{Path(args[0]).name} {args[1]}: {error}") from None
    if check and completed.returncode != 0:
        lines = [line for line in (completed.stderr + completed.stdout).splitlines() if line.strip()]
        raise RegistryError(
            f"{Path(args[0]).name} {' '.join(args[1:3])} failed: {lines[-1] if lines else 'no output'}"
        )
    return completed


def call_dvc(action: str, function: Any, *arguments: Any, **keywords: Any) -> Any:
    """One DVC API call (what `dvc <action>` runs), its log lines silenced; a failure is one line.

    Importing DVC attaches its console handlers (INFO to stdout, WARNING up to stderr); the subprocess
    this replaced had its output captured, so nothing of DVC's may reach the registry's own output.
    The line is DVC's CLI's: the error and its causes joined with " - ".
    """
    from dvc.logger import set_loggers_level

    try:
        with set_loggers_level(logging.CRITICAL + 1):
            return function(*arguments, **keywords)
    except Exception as error:  # the tool's boundary, as its CLI draws it (DvcException, git, clone errors)
        causes: list[str] = []
        cause: BaseException | None = error
        while cause is not None:
            lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
            causes += lines[-1:]
            cause = cause.__cause__
        raise RegistryError(f"dvc {action} failed: {' - '.join(causes) or type(error).__name__}") from None


def call_gto(action: str, function: Any, repo: str, **arguments: Any) -> Any:
    """One ``gto.api`` call as plain JSON data (what `gto ... --json` prints); a failure is one line.

    GTO's CLI turns every exception into a one-line message and exit 1; so does this, for the same
    exceptions (GTO's own, and git's or a clone's errors underneath).
    """
    try:
        result = function(repo, **arguments)
    except Exception as error:  # the tool's boundary, as its CLI draws it
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise RegistryError(f"gto {action} failed: {lines[-1] if lines else type(error).__name__}") from None
    plain = make_ready_to_serialize(result)  # type: ignore[no-untyped-call]  # GTO's, unannotated
    return json.loads(json.dumps(plain))


# --- reading the registry (pure functions over gto's JSON) ---------------------------------------


@dataclass(frozen=True)
class VersionRow:
    """One registered version as `registry show` prints it."""

    version: str
    commit: str
    registered_at: str
    stages: list[str] = field(default_factory=list)
    lineage: dict[str, Any] = field(default_factory=dict)


def parse_lineage(message: str) -> dict[str, Any]:
    """The lineage JSON of a registration tag's message; {} for a version registered by hand."""
    try:
        value = json.loads(message)
    except (json.JSONDecodeError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def current_stages(summary: dict[str, Any], artifact: str = ARTIFACT) -> dict[str, str | None]:
    """Which version each stage resolves to, as GTO's readers (and `dvc artifacts get`) resolve it."""
    entry = summary.get(artifact) or {}
    stages = entry.get("stage") or {}
    return {stage: stages.get(stage) for stage in STAGES}


def version_rows(versions: list[dict[str, Any]], stages: dict[str, str | None]) -> list[VersionRow]:
    """Rows from `gto show <artifact> --json`, newest first, each with the stages it currently holds."""
    rows = []
    for item in versions:
        registrations = item.get("registrations") or [{}]
        message = str(registrations[-1].get("message", "") or item.get("message", ""))
        held = [stage for stage, version in stages.items() if version == item["version"]]
        rows.append(
            VersionRow(
                version=str(item["version"]),
                commit=str(item.get("commit_hexsha", "")),
                registered_at=str(item.get("created_at", "")),
                stages=held,
                lineage=parse_lineage(message),
            )
        )
    return rows


def previous_prod(versions: list[dict[str, Any]], current: str) -> str | None:
    """The newest other version whose prod assignment is still in effect (what rollback falls back to)."""
    candidates = [
        (str(stage.get("activated_at") or stage.get("created_at") or ""), str(item["version"]))
        for item in versions
        if item["version"] != current
        for stage in item.get("stages") or []
        if stage.get("stage") == "prod" and stage.get("is_active")
    ]
    return max(candidates)[1] if candidates else None


# --- a repository's registry ---------------------------------------------------------------------


def stage_versions(repo: str) -> dict[str, str | None]:
    """Each stage's version as GTO resolves it (deprecations honoured), for a repo path or URL.

    Resolve stages here, never with `dvc artifacts get --stage`: DVC 3.67 takes the newest tag naming
    the stage, and a `gto deprecate` tag names it too, so after a rollback DVC would fetch the very
    version that was rolled back.
    """
    return current_stages(call_gto("show", gto.api.show, repo) or {})


def fetch_version(repo: str, version: str, destination: Path) -> Path:
    """`dvc artifacts get` one registered version's package (from the DVC remote) into `destination`."""
    from dvc.repo.artifacts import Artifacts  # DVC's import (0.16 s) only where a package is fetched

    call_dvc("artifacts get", Artifacts.get, repo, name=ARTIFACT, version=version, out=str(destination))
    return destination


class Registry:
    """A git+DVC repository's model registry: GTO and DVC in this process, git as subprocesses."""

    def __init__(self, repo: Path, *, push: bool | None = None) -> None:
        self.repo = repo
        self.has_origin = bool(run(["git", "remote"], repo).stdout.split().count("origin"))
        self.push = self.has_origin if push is None else push

    def summary(self) -> dict[str, str | None]:
        """Each stage's current version."""
        return stage_versions(str(self.repo))

    def versions(self) -> list[dict[str, Any]]:
        """`gto show` of the artifact with every assignment still in effect (rollback needs older ones)."""
        try:
            value = call_gto(
                "show",
                gto.api.show,
                str(self.repo),
                name=ARTIFACT,
                assignments_per_version=-1,
                versions_per_stage=-1,
            )
        except RegistryError:
            return []  # nothing registered yet
        return value if isinstance(value, list) else []

    def rows(self) -> list[VersionRow]:
        """Every registered version with the stages it holds, newest first."""
        return version_rows(self.versions(), self.summary())

    def register(self, message: str, *, version: str | None = None, bump: str | None = None) -> None:
        """Register HEAD as `version`, or as the next version bumped at `bump` (major, minor or patch)."""
        bumps = {f"bump_{bump}": True} if bump else {}
        self._write(
            "register", gto.api.register, name=ARTIFACT, ref="HEAD", version=version, message=message, **bumps
        )

    def assign(self, version: str, stage: str, message: str) -> None:
        """Assign `stage` to a registered version (`gto assign --version V --stage S`)."""
        self._write("assign", gto.api.assign, name=ARTIFACT, stage=stage, version=version, message=message)

    def unassign(self, version: str, stage: str, message: str) -> None:
        """Deprecate `version`'s assignment to `stage` (`gto deprecate NAME VERSION STAGE`)."""
        self._write(
            "deprecate", gto.api.unassign, name=ARTIFACT, version=version, stage=stage, message=message
        )

    def _write(self, action: str, function: Any, **arguments: Any) -> None:
        """A tag-writing GTO call with its CLI's defaults (simple: auto), pushed when the registry pushes."""
        call_gto(action, function, str(self.repo), simple=None, push=self.push, **arguments)

    def git(self, *args: str) -> str:
        """Run a git command in the repository; its stripped output."""
        return run(["git", *args], self.repo).stdout.strip()

    def dvc_status(self, *, cloud: bool = False) -> dict[str, Any]:
        """`dvc status` of the workspace against dvc.lock, or (`cloud`) of the cache against the remote:
        {} when nothing differs."""
        from dvc.repo import Repo

        def status() -> dict[str, Any]:
            with Repo(str(self.repo)) as repo:
                return dict(repo.status(cloud=cloud))

        return dict(call_dvc("status --cloud" if cloud else "status", status))

    def fetch(self, destination: Path, *, version: str) -> Path:
        """`dvc artifacts get` one version's package into `destination`."""
        return fetch_version(str(self.repo), version, destination)

    def fetch_file(self, path: str, commit: str, destination: Path) -> Path:
        """`dvc get` one DVC-tracked file as it was at `commit` (from the DVC remote)."""
        from dvc.repo import Repo

        call_dvc("get", Repo.get, str(self.repo), path, out=str(destination), rev=commit)
        return destination
