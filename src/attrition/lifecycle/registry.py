"""`attrition registry`: the one thin layer over GTO and DVC for versions and stages (issue 9).

GTO keeps versions and stage assignments as annotated git tags on the `attrition-model` artifact
declared in dvc.yaml; `dvc artifacts get` fetches a version's or a stage's package from the DVC
remote. This module only adds what they lack: the checks before a version is proposed (clean,
committed, pushed), the lineage JSON carried in the registration tag, the promotion gate before a
`prod` assignment (its result carried in the assignment tag), and rollback by deprecating the
current assignment (GTO's readers then take the previous prod version, as `dvc artifacts get` does).

Exit codes: 0 ok, 1 a check or the gate failed, 2 bad input, 3 the gate found insufficient evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attrition.lifecycle.lineage import PACKAGE_OUT, lock_outputs
from attrition.params import ParamsError, load_params

ARTIFACT = "attrition-model"
PACKAGE_PATH = PACKAGE_OUT
STAGES = ("staging", "prod")
COMMAND_TIMEOUT_S = 300


class RegistryError(RuntimeError):
    """A registry operation that cannot proceed; the message is one line. `code` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def tool(name: str) -> str:
    """`gto` / `dvc` from this interpreter's environment (what make installed), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def run(args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one git/gto/dvc command, bounded in time; a failure becomes a one-line RegistryError."""
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


def format_table(rows: list[VersionRow]) -> str:
    """The `registry show` table: one line per version."""
    header = [
        "version",
        "stages",
        "model_version",
        "data",
        "roc_auc",
        "precision",
        "recall",
        "registered",
        "commit",
    ]
    lines = [header]
    for row in rows:
        holdout = row.lineage.get("metrics", {}).get("holdout", {})

        def figure(name: str, holdout: dict[str, Any] = holdout) -> str:
            value = holdout.get(name)
            return f"{value:.3f}" if isinstance(value, int | float) else "-"

        dataset = row.lineage.get("dataset", {})
        lines.append(
            [
                row.version,
                ",".join(row.stages) or "-",
                str(row.lineage.get("model_version", "-")),
                f"v{dataset['version']}" if "version" in dataset else "-",
                figure("roc_auc"),
                figure("precision"),
                figure("recall"),
                row.registered_at[:19].replace("T", " "),
                row.commit[:8],
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


# --- lineage of HEAD's package -------------------------------------------------------------------


def lock_outs(lock: dict[str, Any]) -> dict[str, str]:
    """Every output path in a parsed dvc.lock with its md5 (lineage.lock_outputs, across stages)."""
    return {path: md5 or "" for stage in lock_outputs(lock).values() for path, md5 in stage["outs"].items()}


def build_lineage(
    metadata: dict[str, Any],
    lock: dict[str, Any],
    *,
    commit: str,
    committed_at: str,
    build_records: dict[str, Any],
) -> dict[str, Any]:
    """What the registration tag carries: the package's identity, data, metrics and how it was built."""
    outs = lock_outs(lock)
    version = metadata.get("dataset", {}).get("version")
    return {
        "artifact": ARTIFACT,
        "model_version": metadata.get("model_version"),
        "package_md5": outs.get(PACKAGE_PATH),
        "evalset": {"path": f"data/evalset_v{version}.csv", "md5": outs.get(f"data/evalset_v{version}.csv")},
        "dataset": {
            key: metadata.get("dataset", {}).get(key) for key in ("version", "md5", "rows", "positives")
        },
        "model": {key: metadata.get("model", {}).get(key) for key in ("family", "hyperparameters", "sha256")},
        "decision_threshold": metadata.get("decision_threshold"),
        "metrics": {
            "holdout": {
                key: metadata.get("metrics", {}).get("holdout", {}).get(key)
                for key in ("rows", "roc_auc", "precision", "recall", "precision_ci95", "recall_ci95")
            },
            "fairness": {
                "equal_opportunity_difference_age": metadata.get("metrics", {})
                .get("fairness", {})
                .get("equal_opportunity_difference_age")
            },
        },
        "code": {"commit": commit, "committed_at": committed_at},
        # Run facts (start time, duration, host) of the build that produced these bytes; the tag makes
        # this otherwise git-ignored record permanent.
        "build": build_records,
    }


def stage_versions(repo: str) -> dict[str, str | None]:
    """Each stage's version as GTO resolves it (deprecations honoured), for a repo path or URL.

    Resolve stages here, never with `dvc artifacts get --stage`: DVC 3.67 takes the newest tag naming
    the stage, and a `gto deprecate` tag names it too, so after a rollback DVC would fetch the very
    version that was rolled back.
    """
    shown = run([tool("gto"), "show", "--repo", repo, "--json"], Path.cwd())
    return current_stages(json.loads(shown.stdout or "{}"))


def fetch_version(repo: str, version: str, destination: Path) -> Path:
    """`dvc artifacts get` one registered version's package (from the DVC remote) into `destination`."""
    run(
        [tool("dvc"), "artifacts", "get", repo, ARTIFACT, "--rev", version, "-o", str(destination)],
        Path.cwd(),
    )
    return destination


class Registry:
    """A git+DVC repository's model registry: every operation shells out to git, gto or dvc."""

    def __init__(self, repo: Path, *, push: bool | None = None) -> None:
        self.repo = repo
        self.has_origin = bool(run(["git", "remote"], repo).stdout.split().count("origin"))
        self.push = self.has_origin if push is None else push

    # reading
    def summary(self) -> dict[str, str | None]:
        return stage_versions(str(self.repo))

    def versions(self) -> list[dict[str, Any]]:
        # every assignment still in effect, not only each stage's newest: rollback needs the older ones
        shown = run(
            [tool("gto"), "show", ARTIFACT, "--json", "--av", "-1", "--vs", "-1"], self.repo, check=False
        )
        if shown.returncode != 0:
            return []  # nothing registered yet
        value = json.loads(shown.stdout or "[]")
        return value if isinstance(value, list) else []

    def rows(self) -> list[VersionRow]:
        return version_rows(self.versions(), self.summary())

    def gto(self, *args: str) -> str:
        command = [tool("gto"), *args]
        if self.push:
            command.append("--push")
        return run(command, self.repo).stdout.strip()

    # propose
    def check_publishable(self) -> None:
        """Refuse unless git and DVC agree with HEAD and everything HEAD names is on the remotes."""
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], self.repo).stdout.strip()
        if dirty:
            raise RegistryError(f"uncommitted changes ({dirty.splitlines()[0].strip()}); commit them first")
        status = run([tool("dvc"), "status", "--json"], self.repo).stdout.strip()
        if status not in ("", "{}"):
            raise RegistryError(
                "workspace outputs differ from dvc.lock (`dvc status`); run `dvc repro` and commit"
            )
        cloud = run([tool("dvc"), "status", "--cloud", "--json"], self.repo).stdout.strip()
        if cloud not in ("", "{}"):
            raise RegistryError("outputs are not all on the DVC remote; run `dvc push`")
        if self.has_origin:
            contained = run(["git", "branch", "-r", "--contains", "HEAD"], self.repo).stdout.strip()
            if not contained:
                raise RegistryError("HEAD is not on origin; run `git push` first")

    def head_lineage(self) -> dict[str, Any]:
        from attrition.modelpkg.artifact import METADATA_FILE, PackageError, check_manifest

        package = self.repo / PACKAGE_PATH
        try:
            check_manifest(package)
        except PackageError as error:
            raise RegistryError(str(error)) from None
        metadata = json.loads((package / METADATA_FILE).read_text(encoding="utf-8"))
        lock = yaml.safe_load((self.repo / "dvc.lock").read_text(encoding="utf-8")) or {}
        commit = run(["git", "rev-parse", "HEAD"], self.repo).stdout.strip()
        committed_at = run(["git", "show", "-s", "--format=%cI", "HEAD"], self.repo).stdout.strip()
        records = {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((self.repo / "models" / ".runs").glob("*.json"))
        }
        if not records:  # before issue 8's build records, the package's own run facts
            records = {
                "training": metadata.get("training", {}),
                "environment": metadata.get("environment", {}),
            }
        return build_lineage(metadata, lock, commit=commit, committed_at=committed_at, build_records=records)

    def propose(self, bump: str) -> str:
        """Register HEAD's package (lineage JSON in the tag) and assign it `staging`; return the version."""
        self.check_publishable()
        document = self.head_lineage()
        version_args = ["--version", "v1.0.0"] if not self.versions() else [f"--bump-{bump}"]
        lineage = json.dumps(document, sort_keys=True)
        self.gto("register", ARTIFACT, "HEAD", *version_args, "--message", lineage)
        head = document["code"]["commit"]
        version = max(
            (row for row in version_rows(self.versions(), {}) if row.commit == head),
            key=lambda row: row.registered_at,
        ).version
        self.gto(
            "assign",
            ARTIFACT,
            "--version",
            version,
            "--stage",
            "staging",
            "--message",
            "proposed by attrition registry propose",
        )
        return version

    # fetching
    def fetch(self, destination: Path, *, version: str) -> Path:
        """`dvc artifacts get` one version's package into `destination`."""
        return fetch_version(str(self.repo), version, destination)

    def fetch_evalset(self, lineage: dict[str, Any], commit: str, destination: Path) -> Path:
        path = lineage.get("evalset", {}).get("path")
        if not path:
            raise RegistryError(
                "the candidate's registration carries no evalset path; pass --data CSV", code=2
            )
        run([tool("dvc"), "get", str(self.repo), path, "--rev", commit, "-o", str(destination)], self.repo)
        return destination


def promote(
    registry: Registry,
    version: str | None,
    *,
    data: Path | None,
    params_path: Path,
    out: Path | None,
    force: bool,
    reason: str | None,
) -> int:
    """Gate VERSION against current prod and assign prod only on pass (or on a recorded --force)."""
    from attrition.atomic import atomic_write_text
    from attrition.lifecycle.gate import EXIT_CODES, GateInputError, run_gate, summary_lines

    stages = registry.summary()
    rows = {row.version: row for row in version_rows(registry.versions(), stages)}
    version = version or stages["staging"]
    if version is None or version not in rows:
        raise RegistryError(
            f"version {version or '(none in staging)'} is not registered; see `attrition registry show`",
            code=2,
        )
    production = stages["prod"]
    if production == version:
        raise RegistryError(f"{version} is already prod", code=2)
    record: dict[str, Any] = {"candidate": version, "production": production}
    verdict = "pass"
    if production is None:
        record["gate"] = "none: first production version"
        print(f"promote: no current prod; {version} becomes the first production version without a gate")
    else:
        try:
            params = load_params(params_path)
        except ParamsError as error:
            raise RegistryError(str(error), code=2) from None
        with tempfile.TemporaryDirectory(prefix="attrition-gate-") as scratch:
            work = Path(scratch)
            try:
                candidate_dir = registry.fetch(work / "candidate", version=version)
                production_dir = registry.fetch(work / "production", version=production)
                data_path = data or registry.fetch_evalset(
                    rows[version].lineage, rows[version].commit, work / "evalset.csv"
                )
                result = run_gate(
                    candidate_dir, production_dir, data_path, params.gate, list(params.evaluate.age_bands)
                )
            except (RegistryError, GateInputError, ValueError) as error:
                if not force:
                    raise RegistryError(
                        f"gate could not run: {error}", code=getattr(error, "code", 2)
                    ) from None
                result = {"verdict": "not_run", "error": str(error)}
        if "rules" in result:
            print("\n".join(summary_lines(result)))
        if out:
            atomic_write_text(out, json.dumps(result, indent=2, sort_keys=True) + "\n")
        verdict = str(result["verdict"])
        record["gate"] = result
    if verdict != "pass" and not force:
        print(f"promote: {version} stays in staging (gate verdict {verdict}); prod remains {production}")
        return EXIT_CODES.get(verdict, 1)
    if force:
        record["forced"] = {"reason": reason, "by": os.environ.get("USER", "unknown")}
    registry.gto(
        "assign",
        ARTIFACT,
        "--version",
        version,
        "--stage",
        "prod",
        "--message",
        json.dumps(record, sort_keys=True, separators=(",", ":")),
    )
    forced = f" (FORCED past verdict {verdict}: {reason})" if force and verdict != "pass" else ""
    print(f"promote: {version} is now prod (was {production or 'none'}){forced}")
    return 0


def rollback(registry: Registry, reason: str) -> int:
    """Deprecate the current prod assignment so the previous prod version serves again."""
    current = registry.summary()["prod"]
    if current is None:
        raise RegistryError("no version is in prod; nothing to roll back")
    fallback = previous_prod(registry.versions(), current)
    if fallback is None:
        raise RegistryError(f"{current} is the only prod version ever assigned; nothing to roll back to")
    message = json.dumps({"rollback": {"from": current, "to": fallback, "reason": reason}}, sort_keys=True)
    registry.gto("deprecate", ARTIFACT, current, "prod", "--message", message)
    now = registry.summary()["prod"]
    print(f"rollback: prod {current} -> {now} ({reason})")
    return 0 if now == fallback else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attrition registry", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(), help="the git+DVC repository (default .)")
    parser.add_argument("--no-push", action="store_true", help="keep tags local even when origin exists")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="every registered version with its lineage, metrics and stages")
    show.add_argument("--json", action="store_true")
    propose_cmd = commands.add_parser("propose", help="register HEAD's package and assign staging")
    propose_cmd.add_argument("--bump", choices=["major", "minor", "patch"], default="minor")
    promote_cmd = commands.add_parser("promote", help="gate a version against prod; assign prod on pass")
    promote_cmd.add_argument("version", nargs="?", help="default: the version in staging")
    promote_cmd.add_argument(
        "--data", type=Path, help="evaluation CSV (default: the candidate's evalset stage output)"
    )
    promote_cmd.add_argument("--params", type=Path, default=Path("params.yaml"), help="gate limits")
    promote_cmd.add_argument("--out", type=Path, help="also write gate.json here")
    promote_cmd.add_argument("--force", action="store_true", help="assign prod whatever the gate says")
    promote_cmd.add_argument("--reason", help="required with --force; recorded in the tag")
    rollback_cmd = commands.add_parser("rollback", help="the previous prod version serves again")
    rollback_cmd.add_argument("--reason", default="rollback", help="recorded in the deprecation tag")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if shutil.which("git") is None:
        print("error: git is not installed; the registry lives in git tags", file=sys.stderr)
        return 2
    try:
        if args.command == "promote" and args.force and not (args.reason or "").strip():
            raise RegistryError("--force needs --reason TEXT; an override must say why", code=2)
        if not (args.repo / ".git").exists() and not (args.repo / "dvc.yaml").exists():
            raise RegistryError(f"{args.repo}: not a git+DVC repository", code=2)
        registry = Registry(args.repo.resolve(), push=False if args.no_push else None)
        if args.command == "show":
            rows = registry.rows()
            if args.json:
                print(json.dumps([row.__dict__ for row in rows], indent=2, sort_keys=True))
            else:
                print(format_table(rows) if rows else "no versions registered yet")
            return 0
        if args.command == "propose":
            version = registry.propose(args.bump)
            print(f"propose: registered {version} of {ARTIFACT} at HEAD and assigned staging")
            return 0
        if args.command == "promote":
            return promote(
                registry,
                args.version,
                data=args.data,
                params_path=args.params,
                out=args.out,
                force=args.force,
                reason=args.reason,
            )
        return rollback(registry, args.reason)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    raise SystemExit(main())
