"""Files holding personal data (the SQLite store, exports) are created 0600, whatever the umask.

The usual umask 022 would make them world-readable on a shared machine. SQLite gives the `-wal`
and `-shm` files it creates the mode of the database file, so creating that one 0600 covers both.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from attrition.atomic import atomic_write_text

PRIVATE_MODE = 0o600


def create_private_file(path: Path) -> None:
    """Create `path` empty and 0600 if it does not exist (an empty file is a new SQLite database)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))


def write_private_text(path: Path, text: str) -> None:
    """Write `text` atomically to `path`, mode 0600: readers see the old file or the whole new one."""
    atomic_write_text(path, text, private=True)
