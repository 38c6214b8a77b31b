"""What the per-prediction reasons cost (issue 24): `/predict` with and without them, side by side.

The same package twice on one file system: as built, and without its explanation.json (a resealed
copy, whose answers carry no reasons). Audit on SQLite, at 1 and 8 connections, the two arms
alternating for --rounds rounds (A B, B A, A B, ...) so drift in the machine's load hits both alike;
the table gives each arm's pooled figures and each round's paired p99 difference.

    .venv/bin/python bench/bench_reasons.py --package models/attrition-model [--rounds 6] [--duration 6]

Every loop is bounded: each run stops after --duration seconds (and at most --max-requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.bench_service, run as a script

from bench.bench_service import REPO, RunResult, _run_server, free_port


def package_copies(package: Path, directory: Path) -> dict[str, Path]:
    """Two copies of `package` side by side on the same file system: as built, and without its
    explanation.json (resealed), whose answers carry no reasons."""
    import shutil

    from attrition.modelpkg.artifact import EXPLANATION_FILE, seal

    copies = {}
    for arm in ("with reasons", "without reasons"):
        copies[arm] = Path(shutil.copytree(package, directory / arm.replace(" ", "-")))
    (copies["without reasons"] / EXPLANATION_FILE).unlink()
    seal(copies["without reasons"])
    return copies


def reasons_ab(
    args: argparse.Namespace, env: dict[str, str], token: str, tmp: Path
) -> tuple[list[RunResult], dict[str, list[float]]]:
    """Alternating runs with and without reasons per connection count: latencies pooled per arm, and
    each round's p99 (a paired comparison: on a shared machine one round's load hits both arms)."""
    arms = package_copies(args.package, tmp)
    pooled: dict[tuple[str, int], RunResult] = {}
    round_p99: dict[str, list[float]] = {}
    for connections in args.ab_connections:
        for round_number in range(args.rounds):
            order = list(arms.items())
            for arm, package in order if round_number % 2 == 0 else order[::-1]:  # A B, B A, A B, ...
                port = free_port()
                audit_db = str(tmp / f"audit-{connections}-{round_number}-{arm.split()[0]}.sqlite")
                run_args = argparse.Namespace(**{**vars(args), "connections": connections})
                result = _run_server(
                    arm,
                    [
                        sys.executable,
                        "-m",
                        "attrition.cli",
                        "serve",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    {**env, "ATTRITION_PACKAGE": str(package), "ATTRITION_AUDIT_DB": audit_db},
                    "/readyz",
                    token,
                    run_args,
                    port,
                )
                total = pooled.setdefault((arm, connections), RunResult(f"{arm}, {connections} conn."))
                total.requests += result.requests
                total.non_2xx += result.non_2xx
                total.errors += result.errors
                total.seconds += result.seconds
                total.latencies_ms.extend(result.latencies_ms)
                total.answered += result.answered
                round_p99.setdefault(total.name, []).append(result.percentile(99))
    return list(pooled.values()), round_p99


def _ab_table(runs: list[RunResult], round_p99: dict[str, list[float]], args: argparse.Namespace) -> str:
    lines = [
        "| arm | requests/s | p50 ms | p99 ms | non-2xx | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.name} | {r.rps:,.0f} | {r.percentile(50):.3f} | {r.percentile(99):.3f} | "
        f"{r.non_2xx} | {r.errors} |"
        for r in runs
    ]
    lines.append("")
    for with_reasons, without in zip(runs[::2], runs[1::2], strict=True):
        delta = with_reasons.percentile(99) - without.percentile(99)
        paired = [a - b for a, b in zip(round_p99[with_reasons.name], round_p99[without.name], strict=True)]
        each = ", ".join(f"{d * 1000:+.0f}" for d in paired)
        lines.append(
            f"{with_reasons.name}: pooled p99 {delta * 1000:+.0f} µs with reasons; per round {each} µs "
            f"(median {statistics.median(paired) * 1000:+.0f})"
        )
    lines.append(
        f"({args.rounds} alternating rounds of {args.duration:g} s per arm after {args.warmup:g} s "
        f"warm-up, audit on SQLite, {os.cpu_count()} cores shared by server and load generator)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=REPO / "models" / "attrition-model")
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--ab-connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per arm")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    if not (args.package / "MANIFEST.sha256").is_file():
        print(f"error: {args.package} is not a model package (run the pipeline first)", file=sys.stderr)
        return 2
    if not (0 < args.duration <= 300 and 1 <= args.rounds <= 50):
        print("error: --duration must be in (0, 300] s and --rounds in 1..50", file=sys.stderr)
        return 2

    import uvloop

    from attrition.service.core.tokens import mint_token

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    secret = secrets.token_urlsafe(48)
    token = mint_token(secret, "bench", ["attrition:predict"], 3600)
    with tempfile.TemporaryDirectory(prefix="attrition-bench-") as tmp:
        env = {**os.environ, "ATTRITION_JWT_SECRET": secret, "ATTRITION_SCORES": str(Path(tmp) / "none.csv")}
        runs, round_p99 = reasons_ab(args, env, token, Path(tmp))
    print(_ab_table(runs, round_p99, args))
    if args.json:
        figures = {
            r.name: {"rps": r.rps, "p50_ms": r.percentile(50), "p99_ms": r.percentile(99)} for r in runs
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
