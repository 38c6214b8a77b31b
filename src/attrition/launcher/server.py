"""The stage server: one interpreter with the stages' libraries loaded, forking a process per stage.

Single-threaded on purpose: a fork copies only the forking thread, so a server with threads could
hand a stage a lock some other thread held. One selector watches the listening socket, each served
stage's client connection (the client ending means its stage was killed: so is the fork) and each
fork's pidfd (its exit code goes back to the client, which exits with it).

A fork is a stage as a cold process would be: the client's argv, working directory, umask,
environment and standard streams; SIGINT, SIGTERM and SIGHUP at their defaults; every ``attrition``
module dropped so the stage imports its code afresh from disk; the interpreter's exit (non-daemon
threads joined, atexit handlers run) before its exit code. What it shares with the server is the
third-party modules already imported, which is the point, and the import-time environment, which the
server checks is the client's (client.IMPORT_TIME_PREFIXES) before it forks.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

from attrition.launcher import SERVER_VARIABLE
from attrition.launcher.client import HEADER, encode, interpreter_identity, mismatch

MAX_REQUEST_BYTES = 16 * 1024 * 1024
REQUEST_SECONDS = 10.0  # a client sends its request at once after connecting


class BadRequestError(ValueError):
    """A connection that did not send one well-formed stage request."""


@dataclass
class Request:
    argv: list[str]
    cwd: str
    environment: dict[str, str]
    umask: int
    descriptors: list[int]
    interpreter: dict[str, Any]


@dataclass
class Served:
    """One stage running in a fork."""

    pid: int
    connection: socket.socket | None
    stage: str


@dataclass
class Tally:
    served: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # reason: stages that ran cold for it
    peak_rss_kib: int = 0


def parse_request(data: bytes, received: int) -> Request:
    try:
        message = json.loads(data)
        request = Request(
            argv=[str(item) for item in message["argv"]],
            cwd=str(message["cwd"]),
            environment={str(key): str(value) for key, value in dict(message["environment"]).items()},
            umask=int(message["umask"]),
            descriptors=[int(item) for item in message["descriptors"]],
            interpreter=dict(message["interpreter"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadRequestError(f"not a stage request ({error})") from error
    if len(request.argv) < 2 or not set(request.descriptors) <= {0, 1, 2}:
        raise BadRequestError("a stage request names a command and at most stdin, stdout and stderr")
    if len(request.descriptors) != received:
        raise BadRequestError(f"{len(request.descriptors)} streams named, {received} passed")
    return request


def receive_request(connection: socket.socket) -> tuple[Request, list[int]]:
    """Read one request and the client's standard streams passed with it (closed again on error)."""
    data, descriptors, _flags, _address = socket.recv_fds(connection, 1 << 16, 3)
    try:
        while len(data) < HEADER.size or len(data) < HEADER.size + HEADER.unpack_from(data)[0]:
            if len(data) >= HEADER.size and HEADER.unpack_from(data)[0] > MAX_REQUEST_BYTES:
                raise BadRequestError(f"a request of more than {MAX_REQUEST_BYTES} bytes")
            chunk = connection.recv(1 << 16)
            if not chunk:
                raise BadRequestError("the connection ended inside a request")
            data += chunk
        return parse_request(data[HEADER.size :], len(descriptors)), descriptors
    except BaseException:
        for descriptor in descriptors:
            os.close(descriptor)
        raise


class Preload:
    """The stages' libraries, imported one stage module at a time between requests.

    DVC takes about 0.7 s to start its first stage and the imports about 1.3 s, so the server serves a
    request between two imports instead of after all of them: a stage forked before its libraries are
    in imports the rest itself, as a cold process would.
    """

    def __init__(self, entry: str) -> None:
        self.environment_before = dict(os.environ)
        self.stages: dict[str, str] = dict(importlib.import_module(entry).stage_modules())
        self.pending = list(self.stages.values())  # in the entry point's order: the pipeline's
        self.seconds = 0.0

    def step(self) -> None:
        started = time.perf_counter()
        importlib.import_module(self.pending.pop(0))
        self.seconds += time.perf_counter() - started

    def environment_set(self) -> dict[str, str]:
        """What importing the libraries set in os.environ so far (scikit-learn sets KMP_DUPLICATE_LIB_OK
        and KMP_INIT_AT_FORK): a cold stage has them once it has imported the same, so a fork gets them."""
        before = self.environment_before
        return {key: value for key, value in os.environ.items() if before.get(key) != value}


def forget_project_modules() -> None:
    """Drop every ``attrition`` module, so the next import reads the code on disk, as a new process would."""
    root = __name__.split(".")[0]
    for name in [name for name in sys.modules if name == root or name.startswith(root + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


class StageServer:
    def __init__(
        self, listener: socket.socket, entry: str, preload: Preload, identity: dict[str, Any]
    ) -> None:
        self.listener = listener
        self.entry = entry
        self.preload = preload
        self.stages = preload.stages
        self.identity = identity  # taken before the preload, which may set variables of its own
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, self.accept)
        self.running: dict[int, Served] = {}
        self.tally = Tally()

    def watch(self, pid: int, on_exit: Callable[[int, int], None]) -> None:
        """Call on_exit(exit code, peak RSS in KiB) when process `pid` (a child of this one) ends."""
        pidfd = os.pidfd_open(pid)

        def ended() -> None:
            self.selector.unregister(pidfd)
            os.close(pidfd)
            _, status, usage = os.wait4(pid, 0)
            on_exit(os.waitstatus_to_exitcode(status), usage.ru_maxrss)

        self.selector.register(pidfd, selectors.EVENT_READ, ended)

    def step(self, timeout: float | None = None) -> None:
        for key, _events in self.selector.select(timeout):
            key.data()

    def refusal(self, request: Request) -> str | None:
        stage = request.argv[1]
        if stage not in self.stages:
            return f"{stage!r} is not a stage command ({', '.join(self.stages)})"
        different = mismatch(self.identity, request.interpreter)
        return f"the stage server runs with {different}" if different else None

    def accept(self) -> None:
        connection, _ = self.listener.accept()
        connection.settimeout(REQUEST_SECONDS)
        try:
            request, descriptors = receive_request(connection)
        except (OSError, BadRequestError) as error:
            self.tally.refused[str(error)] += 1
            connection.close()
            return
        reason = self.refusal(request)
        if reason is not None:
            self.tally.refused[reason] += 1
            for descriptor in descriptors:
                os.close(descriptor)
            with contextlib.suppress(OSError), connection:
                connection.sendall(encode({"refused": reason}))
            return
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here may be written twice
            stream.flush()
        pid = os.fork()
        if pid == 0:
            for key, value in self.preload.environment_set().items():
                request.environment.setdefault(key, value)
            become_stage(request, descriptors, self.entry, self.descriptors_to_close(connection))
        for descriptor in descriptors:
            os.close(descriptor)
        served = Served(pid=pid, connection=connection, stage=request.argv[1])
        self.running[pid] = served
        self.tally.served += 1
        try:
            connection.sendall(encode({"pid": pid}))
        except OSError:
            self.client_gone(served)
        else:
            self.selector.register(connection, selectors.EVENT_READ, lambda: self.client_gone(served))
        self.watch(pid, lambda code, peak: self.stage_ended(served, code, peak))

    def descriptors_to_close(self, connection: socket.socket) -> list[int]:
        """What a fork must not keep: the server's sockets and selector, every stage's connection and pidfd
        (a fork holding a connection would keep its client waiting if this server died)."""
        selector_fd = getattr(self.selector, "fileno", lambda: -1)()
        registered = [key.fd for key in self.selector.get_map().values()]
        return [self.listener.fileno(), int(selector_fd), connection.fileno(), *registered]

    def client_gone(self, served: Served) -> None:
        """The client closed its end: its stage was killed (or it lost its server), so the fork goes too."""
        if served.connection is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(served.connection)
            served.connection.close()
            served.connection = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(served.pid, signal.SIGKILL)

    def stage_ended(self, served: Served, code: int, peak_rss_kib: int) -> None:
        del self.running[served.pid]
        self.tally.peak_rss_kib = max(self.tally.peak_rss_kib, peak_rss_kib)
        if served.connection is not None:
            self.selector.unregister(served.connection)
            with contextlib.suppress(OSError):
                served.connection.sendall(encode({"exit": code}))
            served.connection.close()
            served.connection = None

    def close(self) -> None:
        """End what is still running (its clients are gone with the command) and release the sockets."""
        for served in list(self.running.values()):
            self.client_gone(served)
        while self.running:
            self.step(1.0)
        self.selector.close()
        self.listener.close()


def become_stage(request: Request, descriptors: list[int], entry: str, keep_out: Sequence[int]) -> NoReturn:
    """In the fork: turn into the client's stage process, run it as a program, exit with its code."""
    code = 70  # EX_SOFTWARE: the fork itself failed before the stage ran
    try:
        for descriptor in keep_out:
            if descriptor >= 0:
                with contextlib.suppress(OSError):
                    os.close(descriptor)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(number, signal.SIG_DFL)
        take_streams(request.descriptors, descriptors)
        os.chdir(request.cwd)
        os.umask(request.umask)
        os.environ.clear()
        os.environ.update(request.environment)
        os.environ.pop(SERVER_VARIABLE, None)
        time.tzset()
        sys.argv = list(request.argv)
        sys.orig_argv = [sys.executable, *request.argv]
        forget_project_modules()
        main = importlib.import_module(entry).main
        code = int(main(None))
    except SystemExit as exit_:
        code = exit_status(exit_)
    except KeyboardInterrupt:
        traceback.print_exc()
        end_process()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # as Python does: the parent sees death by SIGINT
    except BaseException:  # reported as the interpreter would, then exit 1
        sys.excepthook(*sys.exc_info())
        code = 1
    end_process()
    os._exit(code)


def take_streams(targets: Sequence[int], received: Sequence[int]) -> None:
    """Make the client's stdin, stdout and stderr this process's 0, 1 and 2 (a missing one: /dev/null)."""
    high = [fcntl.fcntl(descriptor, fcntl.F_DUPFD_CLOEXEC, 10) for descriptor in received]
    for descriptor in received:
        os.close(descriptor)
    for target, descriptor in zip(targets, high, strict=True):
        os.dup2(descriptor, target)
        os.close(descriptor)
    for missing in {0, 1, 2} - set(targets):
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, missing)
        os.close(null)
    sys.stdin = reopen(0, "r", sys.stdin)  # sys.__std*__ keep the server's: they write to the same 0, 1, 2
    sys.stdout = reopen(1, "w", sys.stdout)
    sys.stderr = reopen(2, "w", sys.stderr)


def reopen(descriptor: int, mode: str, like: TextIO | None) -> TextIO:
    """A text stream on `descriptor` as the interpreter opens one: stderr and a terminal line-buffered."""
    line = descriptor == 2 or (descriptor == 1 and os.isatty(descriptor))
    return open(  # the process's own standard stream, open until it exits
        descriptor,
        mode,
        buffering=1 if line else -1,
        encoding=getattr(like, "encoding", None) or "utf-8",
        errors=getattr(like, "errors", None) or ("backslashreplace" if descriptor == 2 else "strict"),
        closefd=False,
    )  # type: ignore[return-value]  # text mode: a TextIOWrapper


def exit_status(exit_: SystemExit) -> int:
    """The exit code the interpreter gives a SystemExit (a message goes to stderr and means 1)."""
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)
    return 1


def end_process() -> None:
    """What the interpreter does at exit before the process ends: join threads, run atexit, flush."""
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]  # what Py_Finalize calls first
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


@dataclass(frozen=True)
class Outcome:
    code: int
    tally: Tally
    preload_seconds: float


def serve(command: Sequence[str], *, entry: str, directory: str) -> Outcome:
    """Run `command` with a stage server listening in `directory` (private to this user) until it ends.

    The command starts at once; the libraries load beside it, and a stage that asks before they are
    loaded waits in the listening queue. SIGINT reaches the command through the terminal; SIGTERM and
    SIGHUP sent to this process are passed on to it. The command's exit code is returned (negative: a
    signal ended it).
    """
    import subprocess

    address = str(Path(directory) / "server.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    process = subprocess.Popen(list(command), env={**os.environ, SERVER_VARIABLE: address})
    # Python-level handlers, so the exec'd command had the defaults and forks can restore them.
    signal.signal(signal.SIGINT, lambda _number, _frame: None)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda number, _frame: process.send_signal(number))
    identity = interpreter_identity()
    preload = Preload(entry)
    server = StageServer(listener, entry, preload, identity)
    ended: list[int] = []
    server.watch(process.pid, lambda code, _peak: ended.append(code))
    try:
        while not ended:
            if preload.pending:
                preload.step()
                server.step(timeout=0)
            else:
                server.step()
    finally:
        server.close()
        Path(address).unlink(missing_ok=True)
    process.returncode = ended[0]
    return Outcome(code=ended[0], tally=server.tally, preload_seconds=preload.seconds)
