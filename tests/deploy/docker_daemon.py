"""A private dockerd and an mmdebstrap base image for the image test (issue 11).

No image registry is reachable from CI, so the test cannot pull `python:3.11-slim`. Instead it builds
a Debian bookworm root filesystem with mmdebstrap from apt's own mirror, `docker import`s it and
builds the Dockerfile on top. The daemon is the test's own: its data, exec root and socket live in a
temporary directory, it has no bridge and no iptables rules (other engineers may run one too), and
containers use the host network bound to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.system import ensure_command

DAEMON_START_TIMEOUT_S = 60
DAEMON_STOP_TIMEOUT_S = 30
MMDEBSTRAP_TIMEOUT_S = 900
MIRROR = "http://deb.debian.org/debian"
# Docs, man pages and translations are a third of a Debian rootfs and nothing here reads them.
MMDEBSTRAP_ARGS = (
    "--variant=minbase",
    "--include=python3,ca-certificates",
    "--mode=root",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "bookworm",
)


@dataclass(frozen=True)
class Docker:
    """The docker CLI bound to one daemon socket."""

    cli: str
    host: str

    def env(self) -> dict[str, str]:
        """Environment for any process that should talk to this daemon (build-image.sh too)."""
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER": self.cli, "DOCKER_BUILDKIT": "1"}

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`docker ARGS`; a failure raises with docker's stderr in the message."""
        done = subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, env=self.env(), check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args[:3])} failed ({done.returncode}): {done.stderr[-2000:]}"
            )
        return done


def _cli_for(dockerd: str) -> str:
    """The docker CLI from dockerd's own package (Debian: /usr/bin next to /usr/sbin/dockerd).

    A newer client elsewhere on PATH refuses BuildKit builds without the buildx plugin.
    """
    package_dirs = os.pathsep.join((str(Path(dockerd).parent), str(Path(dockerd).parent.parent / "bin")))
    return shutil.which("docker", path=package_dirs) or ensure_command("docker", "docker.io")


@contextmanager
def private_dockerd(workdir: Path) -> Iterator[Docker]:
    """Start dockerd with all its state under `workdir`, yield its CLI, stop it afterwards."""
    dockerd = ensure_command("dockerd", "docker.io")
    socket = workdir / "docker.sock"
    log = (workdir / "dockerd.log").open("w")
    process = subprocess.Popen(
        [
            dockerd,
            f"--data-root={workdir / 'data'}",
            f"--exec-root={workdir / 'exec'}",
            f"--pidfile={workdir / 'dockerd.pid'}",
            f"--host=unix://{socket}",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    docker = Docker(cli=_cli_for(dockerd), host=f"unix://{socket}")
    try:
        deadline = time.monotonic() + DAEMON_START_TIMEOUT_S
        while docker.run("version", timeout=10, check=False).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"dockerd did not start: {(workdir / 'dockerd.log').read_text()[-2000:]}"
                )
            time.sleep(0.5)
        yield docker
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=DAEMON_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        _unmount_below(workdir)


def _unmount_below(workdir: Path) -> None:
    """Unmount what dockerd left mounted under `workdir` (e.g. exec/netns/default), deepest first.

    Without this the temporary directory cannot be removed.
    """
    root = str(workdir.resolve())
    with Path("/proc/self/mountinfo").open(encoding="utf-8") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    for point in sorted((p for p in points if p == root or p.startswith(root + "/")), reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, timeout=30, check=False)


def debian_base_tarball(cache_dir: Path) -> Path:
    """A bookworm rootfs tarball with python3, built once by mmdebstrap and cached by its arguments.

    Building takes one to two minutes of downloads; the cache key changes whenever the arguments do.
    """
    mmdebstrap = ensure_command("mmdebstrap", "mmdebstrap")
    key = hashlib.sha256("\0".join((*MMDEBSTRAP_ARGS, MIRROR)).encode()).hexdigest()[:16]
    tarball = cache_dir / f"bookworm-python3-{key}.tar"
    if tarball.is_file():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial.tar")
    done = subprocess.run(
        [mmdebstrap, *MMDEBSTRAP_ARGS, str(partial), MIRROR],
        capture_output=True,
        text=True,
        timeout=MMDEBSTRAP_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise AssertionError(f"mmdebstrap failed: {done.stderr[-2000:]}")
    partial.replace(tarball)
    return tarball


def cache_dir() -> Path:
    """Where the base tarball is kept between runs (ATTRITION_DEPLOY_CACHE overrides)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "attrition-deploy"
    return Path(os.environ.get("ATTRITION_DEPLOY_CACHE", default))


def compressed_size(docker: Docker, image: str) -> int:
    """Bytes of `docker save IMAGE | gzip`: what a registry push and a node's pull transfer."""
    save = subprocess.Popen([docker.cli, "save", image], stdout=subprocess.PIPE, env=docker.env())
    gzip = subprocess.Popen(["gzip", "-6", "-c"], stdin=save.stdout, stdout=subprocess.PIPE)
    assert save.stdout is not None and gzip.stdout is not None
    save.stdout.close()  # gzip owns the pipe now, so docker save sees EPIPE if gzip dies
    total = sum(len(block) for block in iter(lambda: gzip.stdout.read(1 << 20), b""))
    if gzip.wait(timeout=600) != 0 or save.wait(timeout=60) != 0:
        raise AssertionError(f"docker save {image} | gzip failed")
    return total
