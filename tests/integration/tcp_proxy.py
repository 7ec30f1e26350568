"""A loopback TCP proxy that tests switch between a working, a hanging and a refusing backend."""

from __future__ import annotations

import asyncio
from typing import Literal

Mode = Literal["forward", "hang", "refuse"]


class TcpProxy:
    """Listens on ``127.0.0.1:port`` and relays to ``target``.

    ``forward``: relay both ways. ``hang``: accept connections and read them, never answer; relayed
    connections stall (a server that stopped answering). ``refuse``: nothing listens on the port
    and open connections are cut (a server that is down). Leaving ``hang`` cuts the stalled
    connections too. Runs in the test's event loop.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode: Mode = "forward"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stalled = asyncio.Event()

    async def start(self) -> TcpProxy:
        await self._listen()
        return self

    async def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "hang":
            self._stalled.set()
        else:
            self._stalled.clear()
            self._cut()
        if mode == "refuse":
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
        elif self._server is None:
            await self._listen()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._cut()
            await self._server.wait_closed()
            self._server = None
        self._cut()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def _cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self._stalled.is_set():
            await self._swallow(reader)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self._stalled.is_set():
                    await self._swallow(reader)
                    return
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
