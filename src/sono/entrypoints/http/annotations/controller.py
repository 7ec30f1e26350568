"""The caller's star on an audio file and their finished listens (contract section 12). Who may
star or play what is the core's decision (``sono.application.annotations``); a file the caller may
not see is 404, whether or not it exists."""

from __future__ import annotations

from litestar import Controller

from sono.application.annotations.messages import RecordPlays, StarItems, UnstarItems
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.routes import delete, post
from sono.entrypoints.http.schemas import Id
from sono.entrypoints.http.security import Acting, Bus, signed_in


class AnnotationsController(Controller):
    path = "/api/v1/audio"
    tags = ["Audio"]
    guards = [signed_in]
    security = BEARER

    @post(
        "/{audio_id:int}/star",
        summary="Star an audio file for the caller (idempotent: a second star keeps the first time)",
        status_code=204,
        responses=errors(401, 404),
    )
    async def star(self, audio_id: Id, bus: Bus, actor: Acting) -> None:
        await bus(StarItems(songs=(audio_id,)), actor)

    @delete(
        "/{audio_id:int}/star",
        summary="Remove the caller's star from an audio file (idempotent)",
        status_code=204,
        responses=errors(401, 404),
    )
    async def unstar(self, audio_id: Id, bus: Bus, actor: Acting) -> None:
        await bus(UnstarItems(songs=(audio_id,)), actor)

    @post(
        "/{audio_id:int}/plays",
        summary="Count one finished listen of an audio file for the caller",
        status_code=204,
        responses=errors(401, 404),
    )
    async def play(self, audio_id: Id, bus: Bus, actor: Acting) -> None:
        await bus(RecordPlays(plays=((audio_id, None),)), actor)
