"""Finding 4: a token subject cannot forge a log line.

Before: the `sub` of an admin token went into the reload log line as it was, so a newline in it started
a second, forged record.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.security.support import served, token
from tests.support.service import rewrite_version, tamper

pytestmark = pytest.mark.security

FORGED = "2099-01-01 00:00:00,000 ERROR attrition.service: forged record"


def test_control_characters_from_a_token_are_escaped_in_the_log(
    package_copy: Path, scores_csv: Path, tmp_path: Path
) -> None:
    subject = "op\n" + FORGED + "\r\x1b[31m"
    admin = {"Authorization": f"Bearer {token(scope='attrition:admin', sub=subject)}"}
    with served(tmp_path, package_copy, scores_csv) as live:
        tamper(package_copy)
        failed = httpx.post(f"{live.url}/admin/reload", headers=admin, timeout=30)
        rewrite_version(package_copy, "v-escaped")
        reloaded = httpx.post(f"{live.url}/admin/reload", headers=admin, timeout=30)
        log = live.log_text()
    assert (failed.status_code, reloaded.status_code) == (409, 200)
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith("2099-01-01")], log
    assert "\x1b" not in log and "\r" not in log
    escaped = [line for line in lines if "op\\n2099-01-01" in line]
    assert len(escaped) >= 2, log  # the failed and the successful reload, each one line
    assert all("\\r\\x1b[31m" in line for line in escaped)
