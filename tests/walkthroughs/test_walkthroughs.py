"""The README's walkthroughs run as tests: each group of prysk transcripts on a fresh clone at HEAD.

Slow (minutes each: they rebuild the pipeline, run experiments, the registry and the monitoring loop),
so they are in the slow tier. On a mismatch the assertion shows prysk's diff; when the change is
intended, `make walkthroughs-accept` takes the new output and `make readme` copies it into README.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.walkthroughs.run import GROUPS, REPO_ROOT, run_group

# 10-20 minutes on 2 cores: not part of `make test`; `make walkthroughs` and .ci/run set the variable.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("ATTRITION_WALKTHROUGHS") != "1",
        reason="the README walkthroughs run with `make walkthroughs` (ATTRITION_WALKTHROUGHS=1)",
    ),
]


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("group", list(GROUPS))
def test_walkthrough(group: str, tmp_path: Path) -> None:
    outcome = run_group(group, tmp_path, REPO_ROOT, timeout_s=2000)
    assert outcome.returncode == 0, f"{' '.join(GROUPS[group])} in {outcome.clone}:\n{outcome.output}"
