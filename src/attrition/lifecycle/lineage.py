"""`attrition lineage [--rev REV]`: which data, code and params produced the model, and who built it.

git plus dvc.lock is the lineage record: dvc.lock names the content hash of every dependency and
output of every stage, and git says when each lock was committed. This command reads them, for the
workspace or any revision, together with the package's own metadata (from the workspace, or through
DVC's cache or remote for a revision) and, when this machine built it, the run record beside it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PACKAGE_OUT = "models/attrition-model"
METRICS_FILE = "metrics/metrics.json"
RUNS_DIR = "models/.runs"


# What marks a repository's root, in the order dvc and then git look for it.
ROOT_MARKERS = (".dvc", ".git")


class LineageError(Exception):
    """The revision or repository cannot be read; the message is one line."""


def project_root(start: Path | None = None) -> Path:
    """The repository a command acts on, found upward from `start` (default: the working directory).

    DVC's root is the nearest folder holding `.dvc`, git's the nearest holding `.git`; so a command run
    from `src/` acts on the project, as `dvc` and `git` would. Outside any repository, `start` itself
    (or `.`), so the command's own error names what it was given.
    """
    here = (start or Path.cwd()).resolve()
    for marker in ROOT_MARKERS:
        for folder in (here, *here.parents):
            if (folder / marker).exists():
                return folder
    return start or Path()


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["git failed"])[-1]
        raise LineageError(f"git {' '.join(args)}: {last}")
    return completed.stdout


def read_text(repo: Path, path: str, rev: str | None) -> str | None:
    """A git-tracked file in the workspace (rev None) or at a revision; None when it is absent."""
    if rev is None:
        file = repo / path
        return file.read_text(encoding="utf-8") if file.is_file() else None
    try:
        return _git(repo, "show", f"{rev}:{path}")
    except LineageError:
        return None


def lock_outputs(lock: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """stage -> {"deps": {path: md5}, "outs": {path: md5}, "params": {...}} from a parsed dvc.lock."""
    stages: dict[str, dict[str, Any]] = {}
    for name, stage in (lock.get("stages") or {}).items():
        stages[name] = {
            "deps": {dep["path"]: dep.get("md5") for dep in stage.get("deps", [])},
            "outs": {out["path"]: out.get("md5") for out in stage.get("outs", [])},
            "params": stage.get("params", {}),
        }
    return stages


def recorded_by(repo: Path, md5: str, rev: str) -> dict[str, str] | None:
    """The first commit (reachable from `rev`) whose dvc.lock named `md5`, and its date."""
    log = _git(repo, "log", "--reverse", "--format=%H %cI", "-S", md5, rev, "--", "dvc.lock").split()
    return {"commit": log[0], "date": log[1]} if len(log) >= 2 else None


def package_metadata(repo: Path, rev: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The package's metadata.json, and why it is missing when it is."""
    path = f"{PACKAGE_OUT}/metadata.json"
    if rev is None:
        file = repo / path
        if not file.is_file():
            return None, f"{path} is not in the workspace (dvc pull or make repro)"
        return json.loads(file.read_text(encoding="utf-8")), None
    import dvc.api  # only a revision needs DVC's machinery

    try:
        return json.loads(dvc.api.read(path, repo=str(repo), rev=rev)), None
    except Exception as error:  # DVC raises many kinds; all mean "not fetchable from here"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"{path} at {rev} is neither in the cache nor on the remote ({reason})"


def run_records(repo: Path, model_version: str | None) -> dict[str, Any]:
    """This machine's run records for the stages that built `model_version` (workspace only)."""
    records: dict[str, Any] = {}
    for file in sorted((repo / RUNS_DIR).glob("*.json")):
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        produced = record.get("produced", {}).get("model_version")
        if produced is None or produced == model_version:
            records[file.stem] = record
    return records


def lineage(repo: Path, rev: str | None) -> dict[str, Any]:
    """Everything known about the model at `rev` (None: the workspace) as one document."""
    if rev is not None:
        rev = _git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    lock_text = read_text(repo, "dvc.lock", rev)
    if lock_text is None:
        raise LineageError(f"no dvc.lock at {rev or 'the workspace'}: nothing has been built there")
    stages = lock_outputs(yaml.safe_load(lock_text))
    package_md5 = stages.get("package", {}).get("outs", {}).get(PACKAGE_OUT)
    metadata, missing = package_metadata(repo, rev)
    metrics_text = read_text(repo, METRICS_FILE, rev)
    head = rev or _git(repo, "rev-parse", "HEAD").strip()
    document: dict[str, Any] = {
        "revision": rev or "workspace",
        "package": {
            "md5": package_md5,
            "recorded_by": recorded_by(repo, package_md5, head) if package_md5 else None,
        },
        "stages": stages,
        "metrics": json.loads(metrics_text) if metrics_text else None,
    }
    if metadata is not None:
        document["model_version"] = metadata.get("model_version")
        document["dataset"] = metadata.get("dataset")
        document["code"] = metadata.get("code")
        document["environment"] = metadata.get("environment")
        document["params"] = metadata.get("params")
    else:
        document["metadata_missing"] = missing
    if rev is None:
        document["run_records"] = run_records(repo, document.get("model_version"))
    return document


def _origin(dataset: dict[str, Any]) -> str:
    """Seed rows name their dataset version; the feature store's rows their table version and as-of."""
    store = dataset.get("feature_store")
    if not store:
        return f"version {dataset['version']}"
    return f"feature store {store['store']} table version {store['table_version']} as of {store['as_of']}"


def summary(document: dict[str, Any]) -> str:
    """The few lines a person asks for first; --json has everything."""
    lines = [f"revision        {document['revision']}"]
    if "model_version" in document:
        data = document["dataset"]
        holdout = (document.get("metrics") or {}).get("holdout", {})
        lines += [
            f"model version   {document['model_version']}",
            f"dataset         {_origin(data)}, {data['rows']} rows, md5 {data['md5']}",
            f"code (train)    sha256 {document['code']['train']['digest']}",
            f"params          {json.dumps(document['params'], sort_keys=True)}",
        ]
        if holdout:
            lines.append(
                f"metrics         roc_auc {holdout['roc_auc']:.4f} precision {holdout['precision']:.3f} "
                f"recall {holdout['recall']:.3f} at threshold {holdout['threshold']:.4f}"
            )
    else:
        lines.append(f"metadata        {document['metadata_missing']}")
    package = document["package"]
    lines.append(f"package md5     {package['md5']}")
    recorded = package["recorded_by"]
    lines.append(
        f"recorded by     {recorded['commit']} ({recorded['date']})"
        if recorded
        else "recorded by     not committed yet (this workspace's dvc.lock only)"
    )
    for stage, record in (document.get("run_records") or {}).items():
        dirty = " (sources differed from it)" if record.get("source_dirty") else ""
        lines.append(
            f"built ({stage:<8}) {record['started_at']} on {record['host']} in {record['duration_s']}s "
            f"at commit {record.get('commit')}{dirty}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attrition lineage",
        description="Show the lineage of the model in the workspace or at a git revision.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rev", help="git revision (commit, branch, tag); default: the workspace")
    parser.add_argument(
        "--repo",
        type=Path,
        help="the project's git repository (default: the one holding the working directory)",
    )
    parser.add_argument("--json", action="store_true", help="print the whole lineage document as JSON")
    args = parser.parse_args(argv)
    try:
        document = lineage(project_root(args.repo), args.rev)
    except LineageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(document, indent=2, sort_keys=True) if args.json else summary(document))
    if "metadata_missing" in document:
        # What could be read is printed; the model's own record could not be, so the answer is incomplete.
        print(f"error: {document['metadata_missing']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
