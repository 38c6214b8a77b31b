"""`attrition registry show | propose | promote | rollback`: argparse, and everything the registry prints.

The decisions are :mod:`attrition.lifecycle.registry.api`'s; this module turns their results into
lines and exit codes: 0 ok, 1 a check or the gate failed, 2 bad input, 3 the gate found insufficient
evidence.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from attrition.lifecycle.gate.record import summary_lines
from attrition.lifecycle.gate.rules import EXIT_CODES
from attrition.lifecycle.lineage import project_root
from attrition.lifecycle.registry.api import judge_promotion, propose, record_promotion, rollback
from attrition.lifecycle.registry.gto import ARTIFACT, Registry, RegistryError, VersionRow


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
                dataset.get("label") or (f"v{dataset['version']}" if "version" in dataset else "-"),
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


def show(registry: Registry, *, as_json: bool) -> int:
    rows = registry.rows()
    if as_json:
        print(json.dumps([row.__dict__ for row in rows], indent=2, sort_keys=True))
    else:
        print(format_table(rows) if rows else "no versions registered yet")
    return 0


def promote(registry: Registry, args: argparse.Namespace) -> int:
    """Gate a version against prod (load, judge), print the verdict, then record it (gate.json, tag)."""
    params_path = args.params or project_root() / "params.yaml"
    promotion = judge_promotion(
        registry, args.version, data=args.data, params_path=params_path, force=args.force
    )
    version, production, verdict = promotion.candidate, promotion.production, promotion.verdict
    if promotion.gate is None:
        print(f"promote: no current prod; {version} becomes the first production version without a gate")
    elif "rules" in promotion.gate:
        print("\n".join(summary_lines(promotion.gate)))
    if not record_promotion(registry, promotion, out=args.out, force=args.force, reason=args.reason):
        print(f"promote: {version} stays in staging (gate verdict {verdict}); prod remains {production}")
        return EXIT_CODES.get(verdict, 1)
    forced = f" (FORCED past verdict {verdict}: {args.reason})" if args.force and verdict != "pass" else ""
    print(f"promote: {version} is now prod (was {production or 'none'}){forced}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attrition registry",
        description="`attrition registry`: the one thin layer over GTO and DVC for versions and stages "
        "(issue 9).",
    )
    parser.add_argument(
        "--repo", type=Path, help="the git+DVC repository (default: the one holding the working directory)"
    )
    parser.add_argument("--no-push", action="store_true", help="keep tags local even when origin exists")
    commands = parser.add_subparsers(dest="command", required=True)
    show_cmd = commands.add_parser(
        "show", help="every registered version with its lineage, metrics and stages"
    )
    show_cmd.add_argument("--json", action="store_true")
    propose_cmd = commands.add_parser("propose", help="register HEAD's package and assign staging")
    propose_cmd.add_argument("--bump", choices=["major", "minor", "patch"], default="minor")
    promote_cmd = commands.add_parser("promote", help="gate a version against prod; assign prod on pass")
    promote_cmd.add_argument("version", nargs="?", help="default: the version in staging")
    promote_cmd.add_argument(
        "--data", type=Path, help="evaluation CSV (default: the candidate's evalset stage output)"
    )
    promote_cmd.add_argument(
        "--params", type=Path, help="gate limits (default: the repository's params.yaml)"
    )
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
        repo = project_root(args.repo)
        if not (repo / ".git").exists() and not (repo / "dvc.yaml").exists():
            raise RegistryError(f"{repo}: not a git+DVC repository", code=2)
        registry = Registry(repo.resolve(), push=False if args.no_push else None)
        if args.command == "show":
            return show(registry, as_json=args.json)
        if args.command == "propose":
            version = propose(registry, args.bump)
            print(f"propose: registered {version} of {ARTIFACT} at HEAD and assigned staging")
            return 0
        if args.command == "promote":
            return promote(registry, args)
        undone = rollback(registry, args.reason)
        print(f"rollback: prod {undone.current} -> {undone.now} ({args.reason})")
        return 0 if undone.now == undone.fallback else 1
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    raise SystemExit(main())
