"""Property tests of the track order, through the collections use cases on the in-memory fakes:
any sequence of adds, inserts at a position, removals, reorders and bulk adds keeps the positions
1..n, unique, and the tracks in the order a plain list model predicts. Refused operations
(an audio file already present, ids repeated in a bulk add, an unknown track) change nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sono.application.collections.messages import (
    AddTrack,
    AddTracks,
    CreateCollection,
    GetCollection,
    MoveTrack,
    NewCollection,
    RemoveTrack,
)
from sono.application.common import Principal
from sono.domain.audio import AudioFile
from sono.domain.errors import Conflict, NotFound, ValidationFailed
from tests.fakes.security import FakeClock
from tests.unit.conftest import World, make_world

FILES = 8  # audio files the operations pick from


@dataclass(frozen=True)
class Add:
    file: int
    position: int | None


@dataclass(frozen=True)
class BulkAdd:
    files: tuple[int, ...]


@dataclass(frozen=True)
class Remove:
    index: int  # which track (modulo the length); -1: a track id that does not exist


@dataclass(frozen=True)
class Move:
    index: int
    position: int


positions = st.one_of(st.none(), st.integers(min_value=-3, max_value=12), st.just(10**12))
operations = st.one_of(
    st.builds(Add, st.integers(0, FILES - 1), positions),
    st.builds(BulkAdd, st.lists(st.integers(0, FILES - 1), min_size=1, max_size=4).map(tuple)),
    st.builds(Remove, st.integers(-1, 20)),
    st.builds(Move, st.integers(0, 20), st.integers(min_value=-3, max_value=12) | st.just(10**12)),
)


def clamp(position: int | None, length: int) -> int:
    """The model's rule: a 0-based insertion index for a 1-based position (None or beyond the end
    appends, below 1 puts it first)."""
    if position is None:
        return length
    return min(max(position, 1), length + 1) - 1


async def _setup(world: World) -> tuple[Principal, int, list[int]]:
    owner = await world.register("owner")
    principal = await world.principal(owner)
    now = world.clock.now()
    async with world.uow() as uow:
        files = [
            await uow.audio_files.add(
                AudioFile(owner.id, f"f{i}", "f.mp3", f"audio/{i}.mp3", "audio/mpeg", 1, "mp3", upload_date=now)  # type: ignore[arg-type]
            )
            for i in range(FILES)
        ]
        await uow.commit()
    view = (await world.send(CreateCollection(NewCollection(title="Mix")), principal.actor)).view
    assert view.collection.id is not None
    return principal, view.collection.id, [f.id for f in files]  # type: ignore[misc]


async def _run(steps: list[Add | BulkAdd | Remove | Move]) -> None:
    world = make_world(FakeClock(datetime(2026, 1, 1, tzinfo=UTC)))
    principal, collection_id, files = await _setup(world)
    actor = principal.actor
    model: list[int] = []  # audio file ids, in order
    for step in steps:
        current = (await world.send(GetCollection(collection_id), actor)).view
        track_ids = [t.track.id for t in current.tracks or []]
        if isinstance(step, Add):
            audio = files[step.file]
            try:
                await world.send(AddTrack(collection_id, audio, step.position), actor)
            except Conflict:
                assert audio in model
            else:
                assert audio not in model
                model.insert(clamp(step.position, len(model)), audio)
        elif isinstance(step, BulkAdd):
            wanted = [files[i] for i in step.files]
            try:
                await world.send(AddTracks(collection_id, tuple(wanted)), actor)
            except ValidationFailed:
                assert len(set(wanted)) < len(wanted)
            except Conflict:
                assert set(wanted) & set(model)
            else:
                assert len(set(wanted)) == len(wanted) and not set(wanted) & set(model)
                model.extend(wanted)
        elif isinstance(step, Remove):
            if step.index < 0 or not track_ids:
                try:
                    await world.send(RemoveTrack(collection_id, 10**6), actor)
                except NotFound:
                    pass
                else:
                    raise AssertionError("removing an unknown track must be a NotFound")
            else:
                index = step.index % len(track_ids)
                await world.send(RemoveTrack(collection_id, track_ids[index]), actor)  # type: ignore[arg-type]
                del model[index]
        elif track_ids:
            index = step.index % len(track_ids)
            moved = await world.send(MoveTrack(collection_id, track_ids[index], step.position), actor)  # type: ignore[arg-type]
            audio = model.pop(index)
            model.insert(clamp(step.position, len(model)), audio)
            assert moved.track.track.track_order == model.index(audio) + 1

        after = (await world.send(GetCollection(collection_id), actor)).view
        tracks = after.tracks or []
        assert [t.track.track_order for t in tracks] == list(range(1, len(tracks) + 1))
        assert [t.track.audio_file_id for t in tracks] == model
        assert after.totals.count == len(model)
        world.uow.database.check_unique()  # the constraints the database would enforce


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, max_size=25))
def test_any_sequence_of_edits_keeps_positions_contiguous_and_matches_a_list(
    steps: list[Add | BulkAdd | Remove | Move],
) -> None:
    asyncio.run(_run(steps))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, FILES - 1), min_size=1, max_size=8), st.lists(positions, max_size=8))
def test_inserting_at_positions_matches_list_insert(files: list[int], places: list[int | None]) -> None:
    """Adds at arbitrary positions only (the web's count + 1 appends; huge or negative positions
    are clamped, never an error)."""
    unique = list(dict.fromkeys(files))
    steps: list[Add | BulkAdd | Remove | Move] = [
        Add(file, places[i] if i < len(places) else None) for i, file in enumerate(unique)
    ]
    asyncio.run(_run(steps))
