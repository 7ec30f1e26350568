"""``AudioCatalog``: the public audio list read outside units of work, one statement per page
(through ``sono.adapters.sqlalchemy.reads``, like the session lookup).

``GET /audio/public`` is the busiest list of the API and needs no transaction. The statement
(files joined with their owners, newest first, a window count of the whole list) selects the files
``LISTED_PUBLICLY`` (the domain's specification, compiled into its ``WHERE`` as the library's reads
compile theirs) and is compiled once. Pages are kept until a commit writes the files or the users
(``reads.Kept`` on the tables' versions), so repeated reads of an unchanged list cost no statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, select

from sono.adapters.sqlalchemy.reads import Kept, Listener, Reads, Shape
from sono.adapters.sqlalchemy.repositories.library import visible_condition
from sono.adapters.sqlalchemy.tables import start_mappers
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.audio import audio_files
from sono.adapters.sqlalchemy.versions import TableVersions
from sono.application.audio.ports import OwnedAudio
from sono.application.metrics import Metrics
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.library import LISTED_PUBLICLY
from sono.domain.users import User

_OWNER = "sono_owner_"
_TOTAL = "sono_total"
_LISTED = visible_condition(LISTED_PUBLICLY, owner=users)
_PUBLIC_PAGE = (
    select(
        *audio_files.c,
        *(column.label(f"{_OWNER}{column.name}") for column in users.c),
        func.count().over().label(_TOTAL),
    )
    .join(users, users.c.id == audio_files.c.owner_id)
    .where(_LISTED)
    .order_by(audio_files.c.upload_date.desc(), audio_files.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("skip"))
)
_PUBLIC_COUNT = (
    select(func.count()).select_from(audio_files.join(users, users.c.id == audio_files.c.owner_id)).where(_LISTED)
)


class SqlAudioCatalog:
    """The ``AudioCatalog`` port on ``reads``. Pages are kept while their tables are unchanged
    (``reads.Kept``)."""

    PAGES_KEPT = 64  # 0: keep none (every request reads its page)

    def __init__(self, reads: Reads, versions: TableVersions, *, metrics: Metrics | None = None) -> None:
        start_mappers()
        self._reads = reads
        self._page = reads.query(_PUBLIC_PAGE)
        self._count = reads.query(_PUBLIC_COUNT)
        self._audio = Shape(AudioFile, audio_files.c, 0, reads.dialect)
        self._owner = Shape(User, users.c, len(audio_files.c), reads.dialect)
        self._pages: Kept[Page[OwnedAudio]] = Kept(
            versions.watch(self._page.tables | self._count.tables), "public_audio_pages", metrics=metrics
        )

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every statement run from now on; returns the way to stop."""
        return self._reads.listen(listener)

    async def public_page(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        async def read() -> Page[OwnedAudio]:
            rows = await self._reads.fetch_all(self._page, skip=skip, limit=limit)
            total = None if rows or not skip else (await self._reads.fetch_one(self._count))[0]
            return self._page_of(rows, skip, total)

        return await self._pages.get((skip, limit), read, most=self.PAGES_KEPT)

    def _page_of(self, rows: list[Any], skip: int, total: int | None) -> Page[OwnedAudio]:
        """The page from the listing's rows: the file's columns, its owner's, then the count."""
        values = [tuple(row) for row in rows]
        owners: dict[Any, User] = {}
        items = []
        for row in values:
            owner_id = row[self._owner.start]
            owner = owners.get(owner_id)
            if owner is None:  # each owner built once
                owner = owners[owner_id] = self._owner.build(row)
            items.append(OwnedAudio(self._audio.build(row), owner))
        return Page(items, values[0][-1] if values else total or 0, skip)
