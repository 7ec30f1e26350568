"""The GDPR messages through the bus on the fakes: who may send them, and the request's address
taken from the context (no ``ip=`` argument)."""

from __future__ import annotations

import io

import pytest

from sono.application import context
from sono.application.accounts.messages import SetProfilePicture
from sono.application.gdpr.messages import (
    CancelDeletion,
    ExecuteDueDeletions,
    ExportData,
    GetDeletionStatus,
    GiveConsent,
    ListConsents,
    RequestDeletion,
)
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, SessionEnded
from sono.domain.gdpr import AuditEvent, DeletionType
from tests.unit.conftest import World


async def _actor(world: World, name: str = "alice") -> Actor:
    user = await world.register(name)
    assert user.id is not None
    return Actor.user(user.id)


async def _audited(world: World, user_id: int) -> list[tuple[str, str | None]]:
    async with world.uow() as uow:
        return [(e.event, e.ip_address) for e in await uow.audit.list_for_user(user_id)]


@pytest.mark.parametrize(
    "message",
    [RequestDeletion(), CancelDeletion(), GetDeletionStatus(), ExportData(), GiveConsent("t", "1"), ListConsents()],
)
async def test_every_gdpr_message_needs_a_signed_in_caller(world: World, message: object) -> None:
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message, ANONYMOUS)  # type: ignore[arg-type]


async def test_a_deletion_request_is_audited_with_the_address_of_the_request(world: World) -> None:
    actor = await _actor(world)
    with context.bind(ip="10.0.0.7"):
        request = await world.app.bus(RequestDeletion(DeletionType.HARD, "bye"), actor)
    assert (request.user_id, request.deletion_type, request.reason) == (actor.id, DeletionType.HARD, "bye")
    assert (await world.app.bus(GetDeletionStatus(), actor)).request == request
    assert (AuditEvent.DELETION_REQUESTED, "10.0.0.7") in await _audited(world, actor.id)
    with pytest.raises(Conflict):
        await world.app.bus(RequestDeletion(), actor)
    stored = await world.user(actor.id)
    assert stored is not None and stored.deletion_requested_at is not None


async def test_cancelling_ends_the_pending_request_and_only_it(world: World) -> None:
    actor = await _actor(world)
    with pytest.raises(NotFound):
        await world.app.bus(CancelDeletion(), actor)
    await world.app.bus(RequestDeletion(), actor)
    cancelled = await world.app.bus(CancelDeletion(), actor)
    assert cancelled.cancelled_at is not None
    assert (await world.app.bus(GetDeletionStatus(), actor)).request is None


async def test_a_consent_without_a_stated_address_records_the_request_s(world: World) -> None:
    actor = await _actor(world)
    with context.bind(ip="192.0.2.1"):
        first = await world.app.bus(GiveConsent(" privacy ", "1"), actor)
        second = await world.app.bus(GiveConsent("privacy", "2", "2001:db8::1"), actor)
    assert (first.consent_type, first.ip_address, second.ip_address) == ("privacy", "192.0.2.1", "2001:db8::1")
    consents = await world.app.bus(ListConsents(), actor)
    assert [(c.consent_version, c.withdrawn_at is None) for c in consents] == [("2", True), ("1", False)]


async def test_the_export_names_the_caller_and_is_audited(world: World) -> None:
    actor = await _actor(world)
    await world.app.bus(GiveConsent("privacy", "1"), actor)
    export = await world.app.bus(ExportData(), actor)
    assert export.user.user.id == actor.id and len(export.consents) == 1
    assert AuditEvent.DATA_EXPORTED in [event for event, _ in await _audited(world, actor.id)]


async def test_the_export_carries_the_pictures_url(world: World) -> None:
    actor = await _actor(world)
    picture = (await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE me")), actor)).user.profile_picture_key
    export = await world.app.bus(ExportData(), actor)
    assert picture is not None and export.user.picture_url == f"memory://media/{picture}"


async def test_a_deleted_caller_s_command_ends_their_session(world: World) -> None:
    actor = Actor.user(999)
    with pytest.raises(SessionEnded):
        await world.app.bus(GiveConsent("privacy", "1"), actor)


async def test_due_deletions_are_carried_out_by_the_worker_each_once(world: World) -> None:
    actor = await _actor(world)
    await world.app.bus(RequestDeletion(DeletionType.HARD), actor)
    with pytest.raises(PermissionDenied):
        await world.app.bus(ExecuteDueDeletions(), actor)
    assert await world.app.bus(ExecuteDueDeletions(), Actor.worker()) == 0  # not due yet
    world.clock.advance(8 * 86400)
    assert await world.app.bus(ExecuteDueDeletions(batch=5), Actor.worker()) == 1
    assert await world.app.bus(ExecuteDueDeletions(batch=5), Actor.worker()) == 0
    assert await world.user(actor.id) is None
