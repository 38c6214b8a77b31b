"""AnswerWriter: an answer's head and body leave in one write, and nothing held is lost or reordered."""

from __future__ import annotations

import asyncio
import socket

import pytest

from attrition.service.api.protocol import AnswerWriter


class Recorder(asyncio.Protocol):
    """The peer's side of a real socket pair: every chunk as recv() returned it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)


class CountingTransport:
    """A real transport with a count of its write calls (the thing AnswerWriter exists to halve)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        self.transport.close()

    def write_eof(self) -> None:
        self.transport.write_eof()

    def get_extra_info(self, name: str) -> object:
        return self.transport.get_extra_info(name)


async def _answer_writer() -> tuple[AnswerWriter, CountingTransport, Recorder]:
    """An AnswerWriter on one end of a real socket pair: the writes it made, and what the peer read."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    _, recorder = await loop.create_connection(Recorder, sock=theirs)
    counting = CountingTransport(transport)
    return AnswerWriter(counting, loop), counting, recorder


async def _received(recorder: Recorder, expected: bytes) -> bytes:
    """What the peer has read once it has as many bytes as `expected` (5 s at most)."""
    async with asyncio.timeout(5):
        while sum(map(len, recorder.chunks)) < len(expected):
            await asyncio.sleep(0.001)
    return b"".join(recorder.chunks)


def test_head_and_body_leave_in_one_write() -> None:
    async def scenario() -> None:
        writer, counting, recorder = await _answer_writer()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        assert counting.writes == []  # held for the body
        writer.write(b"{}")
        writer.write(b"later")  # only the first write is ever held
        assert counting.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"later"]
        sent = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}later"
        assert await _received(recorder, sent) == sent
        writer.close()

    asyncio.run(scenario())


def test_a_head_alone_leaves_at_the_end_of_the_loop_pass() -> None:
    """A streamed answer whose app awaits before its first chunk: the head is not kept back meanwhile."""

    async def scenario() -> None:
        writer, counting, recorder = await _answer_writer()
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await asyncio.sleep(0)
        assert counting.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
        writer.write(b"0\r\n\r\n")
        sent = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
        assert await _received(recorder, sent) == sent
        writer.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("ending", ["close", "write_eof"])
def test_held_bytes_go_out_before_close_or_eof(ending: str) -> None:
    async def scenario() -> None:
        writer, counting, recorder = await _answer_writer()
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        getattr(writer, ending)()
        assert counting.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        assert await _received(recorder, b"HTTP/1.1 100 Continue\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        await asyncio.sleep(0)  # the cancelled end-of-pass flush must not write again
        assert len(counting.writes) == 1
        counting.close()

    asyncio.run(scenario())


def test_a_closing_connection_drops_what_is_held() -> None:
    """As the transport itself would drop a write after close(): no error from the end-of-pass flush."""

    async def scenario() -> None:
        writer, counting, _ = await _answer_writer()
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
        counting.close()  # the client went away meanwhile
        await asyncio.sleep(0)
        assert counting.writes == [] and writer.is_closing()
        assert writer.get_extra_info("socket") is not None  # everything else is the transport's

    asyncio.run(scenario())
