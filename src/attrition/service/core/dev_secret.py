"""The local development secret: one git-ignored file that `serve --dev` and `token` both read.

Two terminals on one checkout then agree on the secret without anyone exporting it. Production
never uses this: it sets ATTRITION_JWT_SECRET or mounts ATTRITION_JWT_SECRET_FILE.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

DEV_SECRET_FILE = Path(".attrition/dev-secret")
DEV_SECRET_BYTES = 48


def ensure_dev_secret(path: Path = DEV_SECRET_FILE) -> tuple[Path, bool]:
    """The development secret file (created 0600 with a random secret when missing), and whether it is new.

    Hand-written rather than attrition.atomic because two `serve --dev` starting together must
    agree: the complete file is linked into place only if none exists (os.link never overwrites),
    so the loser reads the winner's secret instead of replacing it.
    """
    if path.is_file():
        return path, False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(DEV_SECRET_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(staging, path)
        except FileExistsError:
            return path, False
        return path, True
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(staging).unlink()
