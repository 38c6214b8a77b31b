"""`attrition plots`: render every DVC plot to PNG or SVG with no internet.

`dvc plots show` writes an HTML page that loads Vega from a CDN, which is blank on a machine without
internet. This asks DVC for the same Vega-Lite specs (`dvc plots show --json`, data inlined) and
renders them with vl-convert, which bundles Vega itself. Extra revisions overlay like `dvc plots diff`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from attrition.lifecycle.lineage import project_root

IMAGES_DIR = Path("dvc_plots/images")


class PlotsError(Exception):
    """DVC could not produce the specs; the message is one line."""


def plot_specs(repo: Path, revisions: list[str]) -> dict[str, dict[str, Any]]:
    """Title -> Vega-Lite spec for every plot declared in dvc.yaml's top-level `plots:`."""
    command = (
        ["dvc", "plots", "diff", *revisions, "--json"] if revisions else ["dvc", "plots", "show", "--json"]
    )
    completed = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines() or ["no output"]
        raise PlotsError(f"{' '.join(command)}: {lines[-1].removeprefix('ERROR: ')}")
    shown = json.loads(completed.stdout)
    if shown.get("errors"):
        raise PlotsError(f"{' '.join(command)}: {json.dumps(shown['errors'])[:200]}")
    # Titled plots come from dvc.yaml's `plots:`; keys that are file paths repeat the raw plot files.
    return {
        title: items[0]["content"]
        for title, items in shown.get("data", {}).items()
        if "/" not in title and items and items[0].get("type") == "vega"
    }


def file_name(title: str, suffix: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") + suffix


def render(spec: dict[str, Any], fmt: str) -> bytes:
    import vl_convert

    text = json.dumps(spec)
    if fmt == "svg":
        return str(vl_convert.vegalite_to_svg(text)).encode("utf-8")
    return bytes(vl_convert.vegalite_to_png(text, scale=1.5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attrition plots",
        description="Render every DVC plot to image files offline (Vega-Lite specs from DVC, vl-convert).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, help=f"folder for the images (default: REPO/{IMAGES_DIR})")
    parser.add_argument("--format", choices=["png", "svg"], default="png")
    parser.add_argument(
        "--repo", type=Path, help="the project's repository (default: the one holding the working directory)"
    )
    parser.add_argument("revisions", nargs="*", help="git revisions to overlay (default: the workspace)")
    args = parser.parse_args(argv)
    repo = project_root(args.repo)
    out: Path = args.out or Path(os.path.relpath(repo / IMAGES_DIR))  # printed as the user would type it
    try:
        specs = plot_specs(repo, args.revisions)
    except PlotsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for title, spec in specs.items():
        target = out / file_name(title, f".{args.format}")
        target.write_bytes(render(spec, args.format))
        print(f"{title}: {target} ({target.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
