"""`attrition deploy`: put a registry stage's package where the service serves it, atomically.

The package is fetched with `dvc artifacts get` (the stage resolved exactly as GTO resolves it) into
a private directory under ``DIR/releases``, fully verified there (hashes before unpickling, then the
sample predictions in a fresh process), and only then made current by replacing the ``DIR/current``
symlink with one rename. A failed fetch or verification never touches ``current``: the service keeps
serving what it served. With ``--reload-url`` (and an admin token) or ``--pid`` a running
``attrition serve --package DIR/current`` is told to load it; its reload verifies again and keeps the
old model on any failure.

Exit codes: 0 deployed (and reloaded when asked), 1 fetch, verification or reload failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from attrition.lifecycle.lineage import project_root
from attrition.lifecycle.registry.gto import RegistryError, fetch_version, stage_versions
from attrition.modelpkg.artifact import METADATA_FILE, PackageError, package_md5
from attrition.modelpkg.verify import verify_package

CURRENT = "current"
RELEASES = "releases"
RELOAD_TIMEOUT_S = 120


class DeployError(RuntimeError):
    """A deployment step that failed; the message is one line."""


def swap_current(target_dir: Path, release: Path) -> Path | None:
    """Point ``target_dir/current`` at `release` with one atomic rename; return the previous target."""
    link = target_dir / CURRENT
    previous = link.readlink() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        raise DeployError(f"{link} exists and is not a symlink; refusing to replace it")
    staging = target_dir / f".{CURRENT}.{os.getpid()}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(release.relative_to(target_dir), target_is_directory=True)
    staging.replace(link)  # rename(2) over the old link: readers see the old or the new, never neither
    return previous


def fetch_and_verify(repo: str, stage: str, target_dir: Path) -> tuple[Path, str, str]:
    """Fetch the stage's package into a new release directory and verify it.

    Returns (release directory, registry version, model version).
    """
    releases = target_dir / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=releases))
    try:
        registered = stage_versions(repo).get(stage)
        if registered is None:
            raise DeployError(f"no version is assigned to {stage} in {repo}")
        fetched = fetch_version(repo, registered, incoming / "package")
        try:
            verify_package(fetched)
        except PackageError as error:
            raise DeployError(f"fetched {stage} package failed verification: {error}") from None
        metadata = json.loads((fetched / METADATA_FILE).read_text(encoding="utf-8"))
        version = str(metadata["model_version"])
        release = releases / f"{version}-{package_md5(fetched)[:8]}"
        if not release.exists():
            fetched.rename(release)
        return release, registered, version
    except RegistryError as error:
        raise DeployError(f"fetching {stage} failed: {error}") from None
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def request_reload(url: str, token: str) -> str:
    """POST the service's /admin/reload; return the model version it reports now serving."""
    request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=RELOAD_TIMEOUT_S) as response:
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip().splitlines()
        raise DeployError(
            f"reload refused by the service: HTTP {error.code} {detail[0] if detail else ''}"
        ) from None
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as error:
        raise DeployError(f"reload request to {url} failed: {error}") from None
    return str(body.get("model_version"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attrition deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, choices=["prod", "staging"])
    parser.add_argument("--to", type=Path, required=True, help="deployment directory (serve DIR/current)")
    parser.add_argument(
        "--repo", help="git+DVC repository path or URL (default: the one holding the working directory)"
    )
    signal_group = parser.add_mutually_exclusive_group()
    signal_group.add_argument("--reload-url", help="the service's /admin/reload URL")
    signal_group.add_argument("--pid", type=int, help="send SIGHUP to this `attrition serve` process")
    parser.add_argument("--token-file", type=Path, help="file holding a token with the attrition:admin scope")
    args = parser.parse_args(argv)

    if args.reload_url and not args.token_file:
        print(
            "error: --reload-url needs --token-file (a token with the attrition:admin scope)", file=sys.stderr
        )
        return 2
    token = ""
    if args.token_file:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            print(
                f"error: --token-file {args.token_file}: {error.strerror}; give a readable file",
                file=sys.stderr,
            )
            return 2
    if args.pid is not None and args.pid <= 0:
        print(f"error: --pid {args.pid}; must be a positive process id", file=sys.stderr)
        return 2
    try:
        repo = args.repo or str(project_root())
        release, registered, version = fetch_and_verify(repo, args.stage, args.to)
        previous = swap_current(args.to, release)
        print(
            f"deploy: {args.stage} is {registered} (model {version}) -> {args.to / CURRENT} "
            f"(was {previous or 'nothing'})"
        )
        if args.reload_url:
            serving = request_reload(args.reload_url, token)
            if serving != version:
                raise DeployError(f"service reports {serving} after reload, expected {version}")
            print(f"deploy: service reloaded, now serving {serving}")
        elif args.pid is not None:
            os.kill(args.pid, signal.SIGHUP)
            print(
                f"deploy: sent SIGHUP to {args.pid}; its reload verifies and keeps the old model on failure"
            )
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ProcessLookupError:
        print(f"error: --pid {args.pid}: no such process", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
