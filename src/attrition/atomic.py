"""Atomic file and directory writes.

A stage that dies half-way must never leave a truncated CSV or model behind for the next stage (or
DVC's cache) to pick up, so every output is written to a temporary sibling and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_bytes(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write `data` to `path` so readers see either the old file or the complete new one.

    `private`: mode 0600 whatever the umask (personal data: audit exports); otherwise the mode an
    ordinary write would give.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        if not private:  # a non-root container serving a mounted package must be able to read it
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, private: bool = False) -> None:
    """Text flavour of :func:`atomic_write_bytes` (UTF-8, newlines untouched)."""
    atomic_write_bytes(path, text.encode("utf-8"), private=private)


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces `final` only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp creates 0700, like mkstemp above
    try:
        yield staging
        replace_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_dir(staging: Path, final: Path) -> None:
    """Swap `staging` in for `final`; the old directory is removed only after the rename."""
    backup = final.with_name(f".{final.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    if final.exists():
        final.rename(backup)
    staging.rename(final)
    shutil.rmtree(backup, ignore_errors=True)
