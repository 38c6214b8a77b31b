"""The stage side of the warm launcher: hand this command to the stage server, or run it cold.

Standard library only, so asking costs milliseconds. When the server cannot take the command (none
is listening, or it runs under another interpreter or another import-time environment), the command
re-executes itself as a new interpreter without the server's variable: exactly a cold run, with no
project module of this one left loaded to change its code identity.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from attrition.launcher import SERVER_VARIABLE

# Environment variables read when the preloaded libraries load (CPU dispatch, thread pools, the
# allocator, the interpreter itself). A stage may be served only if they equal the server's:
# NumPy picks its SIMD kernels and OpenBLAS its core type once, at import.
IMPORT_TIME_PREFIXES = (
    "PYTHON",
    "NPY_",
    "NUMPY_",
    "OPENBLAS_",
    "GOTO",
    "OMP_",
    "MKL_",
    "KMP_",
    "BLIS_",
    "SCIPY_",
    "SKLEARN_",
    "JOBLIB_",
    "LD_",
    "GLIBC_",
    "MALLOC_",
    "LC_",
    "LANG",
)
SIGNALS_FORWARDED = (
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGINT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
HEADER = struct.Struct("!I")


def import_time_environment(environment: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in environment.items() if key.startswith(IMPORT_TIME_PREFIXES)}


def interpreter_identity() -> dict[str, Any]:
    """What must match between a stage and the server for a fork to behave as this interpreter would."""
    return {
        "executable": sys.executable,
        "version": sys.version,
        "path": sys.path,
        "environment": import_time_environment(os.environ),
    }


def mismatch(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str | None:
    """The first thing that differs between two interpreter identities, in words (None: the same)."""
    for key in ("executable", "version", "path"):
        if mine[key] != theirs[key]:
            return f"another {'sys.path' if key == 'path' else key}"
    names = sorted(set(mine["environment"]) | set(theirs["environment"]))
    differing = [name for name in names if mine["environment"].get(name) != theirs["environment"].get(name)]
    return f"another {', '.join(differing)}" if differing else None


def encode(message: Mapping[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return HEADER.pack(len(body)) + body


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    """One framed message, or None at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    body = stream.read(HEADER.unpack(header)[0])
    return dict(json.loads(body))


def open_descriptors() -> list[int]:
    """Which of stdin, stdout and stderr this process has open (a stage may run with one closed)."""
    opened = []
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            continue
        opened.append(descriptor)
    return opened


def run_served(address: str, argv: Sequence[str]) -> int | str:
    """Run ``argv`` (this command's sys.argv) in a fork of the server: its exit code, or why it was not."""
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(address)
    except OSError as error:
        return f"no stage server at {address} ({error.strerror or error})"
    with connection:
        descriptors = open_descriptors()
        umask = os.umask(0)
        os.umask(umask)
        request = {
            "argv": list(argv),
            "cwd": str(Path.cwd()),
            "environment": dict(os.environ),
            "umask": umask,
            "descriptors": descriptors,
            "interpreter": interpreter_identity(),
        }
        socket.send_fds(connection, [encode(request)], descriptors)
        stream = connection.makefile("rb")
        answer = read_message(stream)
        if answer is None or "refused" in answer:
            return str(answer["refused"]) if answer else "the stage server closed the connection"
        child = int(answer["pid"])
        try:
            same_group = os.getpgid(child) == os.getpgrp()
        except ProcessLookupError:  # already ended: its exit code follows
            same_group = True

        def forward(number: int, _frame: object) -> None:
            # A terminal's Ctrl-C already reached the fork if it shares this process group.
            if not (number == signal.SIGINT and same_group):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, number)

        for number in SIGNALS_FORWARDED:
            signal.signal(number, forward)
        ended = read_message(stream)
    if ended is None:
        print(f"attrition: the stage server at {address} ended before the stage did", file=sys.stderr)
        return 1
    code = int(ended["exit"])
    if code < 0:  # the fork died of a signal: so does this process, as a cold stage would have
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def run_or_reexec(argv: Sequence[str]) -> int:
    """Serve this command warm when a server is named; otherwise, or if it cannot, re-run it cold."""
    address = os.environ[SERVER_VARIABLE]
    outcome = run_served(address, argv)
    if isinstance(outcome, int):
        return outcome
    print(
        f"attrition: {outcome}; running {argv[1] if len(argv) > 1 else 'it'} in a new process",
        file=sys.stderr,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ.pop(SERVER_VARIABLE)
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
