"""The development secret file: created once, private (0600), then reused by every command."""

from __future__ import annotations

import stat
from pathlib import Path

from attrition.service.core.dev_secret import ensure_dev_secret
from attrition.service.settings import MIN_SECRET_BYTES


def test_created_private_once_then_reused(tmp_path: Path) -> None:
    path = tmp_path / ".attrition" / "dev-secret"
    first, created = ensure_dev_secret(path)
    assert (first, created) == (path, True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    secret = path.read_text().strip()
    assert len(secret.encode()) >= MIN_SECRET_BYTES
    assert ensure_dev_secret(path) == (path, False)
    assert path.read_text().strip() == secret
    assert [p.name for p in path.parent.iterdir()] == ["dev-secret"]  # no staging file left
