"""TEMPORARY (replace at integration with the library feature): the albums and artists a caller
may star. The library read model (``library_album``, ``library_artist``) does not exist on this
branch, so no album or artist is visible and starring one is 404. The library feature implements
``StarTargets`` over its read model (one statement per call, the caller's visibility in SQL) and
wires that implementation in ``bootstrap.build_ports`` instead of this one."""

from __future__ import annotations

from collections.abc import Sequence

from sono.adapters.sqlalchemy.reads import Reads
from sono.application.messages import Actor


class SqlStarTargets:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads  # what the real implementation reads through

    async def visible_albums(self, actor: Actor, ids: Sequence[int]) -> set[int]:
        return set()

    async def visible_artists(self, actor: Actor, ids: Sequence[int]) -> set[int]:
        return set()
