"""Run the README's walkthroughs (docs/walkthroughs/*.t, prysk transcripts) on a fresh clone.

Each group of transcripts runs, in order, in one `git clone` of the repository at HEAD (committed state
only), as a new user would after `make repro`: `attrition`, `dvc` and `gto` resolve to this venv's
console scripts and `PYTHONPATH` points at the clone's `src/`, so the clone's code runs. Installing the
pinned requirements into a venv per clone would take minutes and the network, so the clone's `.venv/`
holds only the Makefile's install markers. HOME is a fresh folder (git identity, and the default DVC
remote `~/.cache/attrition/dvc-remote` starts empty); every command runs in bash in the clone's root.

    python -m tests.walkthroughs.run GROUP...            # run, print prysk's diff on a mismatch
    python -m tests.walkthroughs.run --accept GROUP...   # run the work tree's transcripts, take the new
                                                         # output into them (the code is still HEAD's)
    python -m tests.walkthroughs.readme --write          # then copy the transcripts into README.md

`--source DIR` clones another repository instead (a snapshot of a work tree, say).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = Path("docs") / "walkthroughs"
REQUIREMENTS = Path(__file__).with_name("requirements-prysk.txt")
VENV_BIN = Path(sys.executable).parent
INSTALL_TIMEOUT_S = 600
COLUMNS = 125  # terminal width for DVC's and GTO's tables: the README's code blocks stay readable

# The transcripts of a group share one clone and run in this order (each one's state is the next one's).
GROUPS: dict[str, tuple[str, ...]] = {
    "build": ("quickstart.t", "experiments.t", "baseline.t", "lineage.t", "service.t"),
    "registry": ("registry.t",),
    "monitoring": ("monitoring.t",),
    "remotes": ("remotes.t",),
    "features": ("features.t", "datapath.t"),
}


def prysk() -> Path:
    """prysk from a venv of its own (it pins rich<14, the project rich 15), rebuilt when its pins change."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = REPO_ROOT / ".venv" / "tools" / f"prysk-{digest}"
    executable = venv / "bin" / "prysk"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"prysk-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one builds it, the others wait
        if not executable.is_file():
            _install(venv)
    return executable


def _install(venv: Path) -> None:
    executable = venv / "bin" / "prysk"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--no-deps", "-r", str(REQUIREMENTS)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0 or not executable.is_file():
        raise RuntimeError(f"installing prysk failed: {done.stderr.strip().splitlines()[-1:]}")


@dataclass
class Outcome:
    returncode: int
    output: str
    clone: Path


def prepare(workdir: Path, source: Path) -> tuple[Path, dict[str, str], Path]:
    """A fresh clone of `source` at HEAD, the environment its commands run in, and the shell prysk uses."""
    clone = workdir / "attrition"
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True, timeout=120)
    # `make repro`'s install step is done: this venv is the clone's (see the module docstring)
    (clone / ".venv").mkdir()
    for marker in (".installed", ".installed-dev"):
        (clone / ".venv" / marker).touch()
    home = workdir / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Walkthrough\n\temail = walkthrough@localhost\n[init]\n\tdefaultBranch = main\n"
    )
    # MAKELEVEL/MAKEFLAGS from `make walkthroughs` would make the clone's own make print "Entering directory"
    dropped = ("DVC_", "PYTEST_", "MAKE", "MFLAGS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env |= {
        "HOME": str(home),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(clone / "src"),
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        # what prysk would reset (it runs with -E), but tables as wide as the README's code blocks
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "COLUMNS": str(COLUMNS),
        "CDPATH": "",
    }
    shell = workdir / "shell-in-clone"
    shell.write_text(f"#!/bin/sh\ncd '{clone}' || exit 1\nexec /bin/bash \"$@\"\n")
    shell.chmod(0o755)
    return clone, env, shell


def run_group(
    group: str, workdir: Path, source: Path = REPO_ROOT, *, accept: bool = False, timeout_s: float = 1800
) -> Outcome:
    """prysk on the group's transcripts (the clone's) in a fresh clone; accept takes their new output."""
    clone, env, shell = prepare(workdir, source)
    # prysk runs copies beside the clone, so its .err files never show in the clone's git status
    copies = workdir / "transcripts"
    copies.mkdir()
    # the clone's (committed) transcripts; when accepting, the work tree's, which may be being edited
    for name in GROUPS[group]:
        shutil.copyfile((source if accept else clone) / TRANSCRIPTS / name, copies / name)
    # -i -y: prysk merges the new output into the copies with patch(1), keeping lines that matched a
    # (glob) or (re) pattern as written (its .err files hold the raw output)
    accepting = ["-i", "-y"] if accept else []
    # its own session: what a transcript leaves running (a server, DVC's queue worker) is ended with it
    process = subprocess.Popen(
        [str(prysk()), "-E", "--shell", str(shell), "--color", "never", *accepting, *GROUPS[group]],
        cwd=copies,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        output = f"prysk did not finish within {timeout_s} s"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    if accept:
        for name in GROUPS[group]:
            shutil.copyfile(copies / name, source / TRANSCRIPTS / name)
    return Outcome(process.returncode, output, clone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("groups", nargs="*", default=list(GROUPS), help=f"of {', '.join(GROUPS)} (all)")
    parser.add_argument("--accept", action="store_true", help="write the new output into the transcripts")
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="the repository to clone")
    parser.add_argument("--workdir", type=Path, help="keep the clones here (default: a temp folder)")
    args = parser.parse_args(argv)
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")

    failed = 0
    for group in args.groups:
        base = args.workdir or Path(tempfile.mkdtemp(prefix=f"walkthrough-{group}-"))
        workdir = base / group if args.workdir else base
        workdir.mkdir(parents=True, exist_ok=True)
        outcome = run_group(group, workdir, args.source.resolve(), accept=args.accept)
        print(f"== {group}: prysk exited {outcome.returncode} (clone {outcome.clone})\n{outcome.output}")
        failed += outcome.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
