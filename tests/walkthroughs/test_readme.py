"""README.md shows the transcripts' commands and output, rendered, never edited by hand (fast)."""

from __future__ import annotations

import pytest

from tests.walkthroughs.readme import README, blocks, render, render_line
from tests.walkthroughs.run import GROUPS, REPO_ROOT, TRANSCRIPTS


def test_readme_blocks_equal_the_transcripts() -> None:
    current = README.read_text(encoding="utf-8")
    assert render(current) == current, "README.md differs from docs/walkthroughs/*.t: run `make readme`"


def test_every_walkthrough_is_shown_in_the_readme() -> None:
    shown = {path.removeprefix(f"{TRANSCRIPTS.as_posix()}/") for path in blocks(README.read_text())}
    assert shown == {name for names in GROUPS.values() for name in names}
    assert all((REPO_ROOT / TRANSCRIPTS / name).is_file() for name in shown)


def test_every_transcript_belongs_to_a_group() -> None:
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(path.name for path in (REPO_ROOT / TRANSCRIPTS).glob("*.t"))


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("  $ dvc status", "$ dvc status"),
        ("  >   --keep 'x'", ">   --keep 'x'"),
        ("  recorded by     * (glob)", "recorded by     …"),
        (r"  price \* 2 (glob)", "price * 2"),
        ("  ├── ??????? [v5]  0.24281 (glob)", "├── ······· [v5]  0.24281"),
        (r"  [>] attrition\ generate\ \-\-out\ data/x\.csv (re)", "> attrition generate --out data/x.csv"),
        (r"  \ttab (esc)", "\ttab"),
        ("  [1]", "(exit 1)"),
        ("  trailing   ", "  trailing".strip()),
    ],
)
def test_transcript_lines_render_as_a_reader_expects(line: str, shown: str) -> None:
    assert render_line(line) == shown
