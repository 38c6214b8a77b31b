"""uvicorn's httptools protocol with the limits it lacks: head size, head deadline, body drain deadline.

httptools accepts a request head of any size, and uvicorn arms no timer until a first response has
gone out. So a client could send a 20 MB header (the parser re-copies it as it grows, on the event
loop) or keep a connection open forever by sending a header byte a second (slowloris). Here, per
connection:

* a head over `max_head_bytes` is answered 431 and the connection closed, as soon as it is seen;
* a head must be complete within `head_timeout_s` of the connection opening, or of its first byte
  on a kept-alive connection; otherwise 408 and close;
* a body still arriving after its answer went out (an early 401, 413) must end within
  `drain_timeout_s`, or the connection is closed. While the application reads the body, the body
  rules middleware enforces the same deadline with a 408.

Head bytes are counted per socket read, so at most one read (256 KiB) past the limit is parsed; a
read that also ends a message is not counted (the next head starts inside it). The number of
connections is bounded by uvicorn's `limit_concurrency`.

Each answer also leaves in one socket write where uvicorn makes two (its status line and headers, then
the body): `AnswerWriter` holds a request's first write until its second or the end of the event
loop's pass. On loopback each write is a send(2) that also runs the receiver's TCP path, the largest
single cost in a py-spy profile of /predict at one connection (23 % of the loop's samples in the two
writes; bench/bench_overhead.py measures the effect).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from prometheus_client import Counter
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("attrition.service.http")


class AnswerWriter:
    """The transport as one request's answer sees it: the first write waits for the next one.

    Held bytes always go out, in order: joined to the next write, or at the end of the loop's current
    pass (a streamed answer's head is not held while its app awaits), or before close()/write_eof().
    A transport that is already closing drops them, as it would have dropped a later write.
    """

    __slots__ = ("_first", "_flush", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._first = True
        self._held: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if self._flush is not None:
                self._flush.cancel()
                self._flush = None
            self._transport.write(held + bytes(data))
        elif self._first:
            self._first = False
            self._held = bytes(data)
            self._flush = self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send what is held now (nothing if the connection is already closing)."""
        held, self._held = self._held, None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, abort, pause_reading and the rest
        return getattr(self._transport, name)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus the head-size, head-deadline and drain-deadline limits above."""

    max_head_bytes = 16 * 1024
    head_timeout_s = 10.0
    drain_timeout_s = 10.0
    # attrition_connections_refused: these refusals happen below the app, so the request metrics
    # never see them, and an attack would be invisible on the dashboard without this count
    refused: Counter | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the bytes arriving now belong to a request head
        self._head_bytes = 0
        self._boundaries = 0  # heads and messages completed, to tell which reads were all head
        self._head_timer: asyncio.TimerHandle | None = None
        self._drain_timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()  # an idle connection that never sends a byte is a slowloris too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        boundaries = self._boundaries
        super().data_received(data)
        if not self._in_head or self._boundaries != boundaries or self.transport.is_closing():
            return  # a read that ended a head or a message: the next head starts at most inside it
        if self._head_timer is None:
            self._arm_head_timer()
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse(431, f"request head is larger than {self.max_head_bytes} bytes", "head_too_large")

    # httptools parser callbacks
    def on_headers_complete(self) -> None:
        self._in_head = False
        self._boundaries += 1
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not previous:  # not an upgrade: a new answer
            self.cycle.transport = AnswerWriter(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # what follows is the next request's head
        self._head_bytes = 0
        self._boundaries += 1
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._in_head and not self.transport.is_closing() and self._drain_timer is None:
            # Answered before the body was in: the rest must come soon (or the connection goes).
            self._drain_timer = self.loop.call_later(self.drain_timeout_s, self._drain_timed_out)

    # limits
    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._drain_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._drain_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined head stalled: close once this answer is out
            return
        self._refuse(408, f"request head not received within {self.head_timeout_s:g} s", "head_timeout")

    def _drain_timed_out(self) -> None:
        self._drain_timer = None
        if not self.transport.is_closing():
            log.info(
                "closed a connection from %s: body not received within %g s",
                self._peer(),
                self.drain_timeout_s,
            )
            self._count("body_timeout")
            self.transport.close()

    def _count(self, reason: str) -> None:
        if self.refused is not None:
            self.refused.labels(reason).inc()

    def _refuse(self, status: int, detail: str, reason: str) -> None:
        """Answer `status` (unless a response is under way on this connection) and close it."""
        log.info("closed a connection from %s: %s (%d)", self._peer(), detail, status)
        self._count(reason)
        if self.cycle is None or self.cycle.response_complete:
            body = json.dumps({"detail": detail}).encode("utf-8")
            head = STATUS_LINE[status] + (
                b"content-type: application/json\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n" % len(body)
            )
            self.transport.write(head + body)
        self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"


def limited_protocol(
    max_head_bytes: int, head_timeout_s: float, drain_timeout_s: float, refused: Counter | None = None
) -> type[LimitedHttpToolsProtocol]:
    """A protocol class with these limits, for uvicorn's `http=` (which instantiates it per connection)."""
    return type(
        "ConfiguredHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "max_head_bytes": max_head_bytes,
            "head_timeout_s": head_timeout_s,
            "drain_timeout_s": drain_timeout_s,
            "refused": refused,
        },
    )
