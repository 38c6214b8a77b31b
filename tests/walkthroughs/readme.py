"""The README's walkthrough blocks are rendered from the prysk transcripts, never written by hand.

A block in README.md is fenced by two comments naming its transcript (and, optionally, which of the
transcript's parts, a part being a run of indented lines between prose lines):

    <!-- walkthrough: docs/walkthroughs/registry.t parts 2-3 -->
    ```console
    ...
    ```
    <!-- /walkthrough -->

Rendering: `  $ cmd` and `  > more` lose their indent; output lines keep their text, with prysk's
markers turned into what a reader expects: a `(glob)` line's `*` shows as `…` and `?` as `·` (what
differs between runs: times, commits, ids), a `(re)` line shows unescaped, `(esc)` is decoded, an exit
code `[1]` shows as `(exit 1)`. `python -m tests.walkthroughs.readme --write` rewrites the blocks
(`make readme`); tests/walkthroughs/test_readme.py fails while README.md differs from the rendering.
"""

from __future__ import annotations

import argparse
import codecs
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
INDENT = "  "
BLOCK = re.compile(
    r"(?P<open><!-- walkthrough: (?P<path>\S+)(?: parts? (?P<first>\d+)(?:-(?P<last>\d+))?)? -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /walkthrough -->)",
    re.DOTALL,
)


def _unglob(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "*?\\":
            out.append(text[i + 1])
            i += 2
            continue
        out.append({"*": "…", "?": "·"}.get(text[i], text[i]))
        i += 1
    return "".join(out)


def render_line(line: str) -> str:
    """One indented transcript line as the README shows it."""
    text = line[len(INDENT) :]
    if text.startswith(("$ ", "> ")):
        return text.rstrip()
    if re.fullmatch(r"\[\d+\]", text):
        return f"(exit {text[1:-1]})"
    if text.endswith(" (glob)"):
        text = _unglob(text[: -len(" (glob)")])
    elif text.endswith(" (re)"):
        text = re.sub(r"\\(.)", r"\1", text[: -len(" (re)")])
        text = re.sub(r"^\[(.)\]", r"\1", text)  # `[>] ...`: an output line that starts with "> "
    elif text.endswith(" (esc)"):
        text = codecs.decode(text[: -len(" (esc)")], "unicode_escape")
    elif text.endswith(" (no-eol)"):
        text = text[: -len(" (no-eol)")]
    return text.rstrip()


def parts(transcript: Path) -> list[list[str]]:
    """The transcript's runs of indented lines, rendered."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in transcript.read_text(encoding="utf-8").splitlines():
        if line.startswith(INDENT):
            if current is None:
                current = []
                found.append(current)
            current.append(render_line(line))
        elif line.strip():  # prose ends a part; blank lines do not
            current = None
    return found


def render_block(path: str, first: str | None, last: str | None, root: Path = REPO_ROOT) -> str:
    chosen = parts(root / path)
    if first is not None:
        lo = int(first)
        hi = int(last) if last else lo
        if not 1 <= lo <= hi <= len(chosen):
            raise ValueError(f"{path} has {len(chosen)} parts, the README asks for {first}-{last or first}")
        chosen = chosen[lo - 1 : hi]
    lines = [line for part in chosen for line in part]
    return "```console\n" + "\n".join(lines) + "\n```\n"


def render(readme: str, root: Path = REPO_ROOT) -> str:
    """README text with every walkthrough block replaced by its transcript's rendering."""

    def replace(match: re.Match[str]) -> str:
        body = render_block(match["path"], match["first"], match["last"], root)
        return match["open"] + body + match["close"]

    return BLOCK.sub(replace, readme)


def blocks(readme: str) -> list[str]:
    """The transcripts README.md renders, in order."""
    return [match["path"] for match in BLOCK.finditer(readme)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Render the README's walkthrough blocks from the transcripts."
    )
    parser.add_argument("--write", action="store_true", help="rewrite README.md (else: exit 1 if it differs)")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    rendered = render(current)
    if args.write:
        if rendered != current:
            README.write_text(rendered, encoding="utf-8")
        print(f"README.md: {len(blocks(current))} walkthrough blocks rendered")
        return 0
    if rendered != current:
        print("README.md differs from the transcripts; run `make readme`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
