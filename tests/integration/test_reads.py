"""The fast reads (``sono.adapters.sqlalchemy.reads``) run on a SQLAlchemy engine: its events see
each statement (tracing, the statement counters), with no transaction around it, and on SQLite the
statement runs in the driver's thread, never in the event loop's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.reads import Kept, reads_for
from sono.adapters.sqlalchemy.sessions import SqlSessionLookup
from sono.adapters.sqlalchemy.versions import versions_for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_the_engine_events_see_each_read_and_nothing_around_it(database_url: str) -> None:
    await migrate.upgrade(database_url)
    reads = reads_for(database_url)
    lookup = SqlSessionLookup(reads, versions_for(database_url, listen=False))
    executed: list[str] = []
    seen: list[str] = []
    engine = reads.sync_engine

    def cursor(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", cursor)
    stop = reads.listen(seen.append)
    try:
        assert await lookup.user_by_login("nobody") is None
        assert await lookup.principal(1, "family", now=datetime.now(UTC)) == (None, False)
        stop()
        assert await lookup.user_by_login("nobody") is None
    finally:
        await reads.close()

    by_login, principal = _statements_of(lookup)
    assert executed == [by_login, principal, by_login]  # the reads, nothing else
    assert seen == [by_login, principal]  # ``listen`` until stopped


async def test_a_traced_engine_has_a_client_span_per_read(database_url: str) -> None:
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
    in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    from sono.adapters.tracing import trace_engine

    await migrate.upgrade(database_url)
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    reads = reads_for(database_url)
    trace_engine(reads.engine, provider)
    lookup = SqlSessionLookup(reads, versions_for(database_url, listen=False))
    try:
        assert await lookup.user_by_login("Somebody@Example.com") is None
    finally:
        await reads.close()
        provider.shutdown()

    [span] = exporter.get_finished_spans()
    by_login, _ = _statements_of(lookup)
    assert span.name == "SELECT"
    assert span.attributes["db.statement"] == by_login
    assert span.attributes["db.system"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")
    assert "somebody" not in str(dict(span.attributes))  # values are bound, never in the span


async def test_on_sqlite_a_read_runs_off_the_event_loop(sqlite_url: str) -> None:
    await migrate.upgrade(sqlite_url)
    reads = reads_for(sqlite_url)
    lookup = SqlSessionLookup(reads, versions_for(sqlite_url, listen=False))
    ran: list[tuple[str, int]] = []  # each statement, and the thread that runs it

    def cursor(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        ran.append((statement, threading.get_ident()))

    event.listen(reads.sync_engine, "before_cursor_execute", cursor)
    try:
        assert await lookup.user_by_login("nobody") is None
        assert await lookup.principal(1, "family", now=datetime.now(UTC)) == (None, False)
    finally:
        await reads.close()

    assert [sql for sql, _ in ran] == list(_statements_of(lookup))
    assert all(thread != threading.get_ident() for _, thread in ran)  # this test runs in the loop's thread


def _statements_of(lookup: SqlSessionLookup) -> tuple[str, str]:
    """The SQL of the lookup's two reads: a login's user, a request's session."""
    return lookup._by_login.sql, lookup._principal.sql


class _Stamps:
    """A watch whose stamp the test moves."""

    def __init__(self) -> None:
        self.value: int | None = 1

    def stamp(self) -> int | None:
        return self.value


async def test_lookups_that_miss_together_get_one_kept_object() -> None:
    """Concurrent lookups of a value not kept yet each read it, and every one of them gets the
    object kept first: the answers made from it are kept by that object's identity."""
    stamps = _Stamps()
    kept: Kept[list[int]] = Kept(stamps, "test")
    release = asyncio.Event()
    reads = 0

    async def load() -> list[int]:
        nonlocal reads
        reads += 1
        await release.wait()
        return [reads]

    lookups = [asyncio.create_task(kept.get("key", load, most=4)) for _ in range(3)]
    await asyncio.sleep(0)  # every lookup is reading now
    release.set()
    first, second, third = await asyncio.gather(*lookups)
    assert reads == 3 and first is second is third
    assert await kept.get("key", load, most=4) is first  # and it stays kept
    stamps.value = 2  # a commit wrote a table it was read from
    again = await kept.get("key", load, most=4)
    assert again is not first and again == [4]
    stamps.value = None  # the versions cannot be trusted: nothing is kept
    assert await kept.get("key", load, most=4) == [5]
    assert await kept.get("key", load, most=4) == [6]


async def test_kept_values_beyond_the_bound_go_least_recently_used_first() -> None:
    kept: Kept[str] = Kept(_Stamps(), "test")
    loads: list[str] = []

    def loader(key: str) -> Callable[[], Awaitable[str]]:
        async def load() -> str:
            loads.append(key)
            return key.upper()

        return load

    for key in ("a", "b", "a", "c", "a", "b"):
        assert await kept.get(key, loader(key), most=2) == key.upper()
    assert loads == ["a", "b", "c", "b"]  # "a" stayed, being used; "b" went first
    assert (kept.hits, kept.misses, len(kept)) == (2, 4, 2)
