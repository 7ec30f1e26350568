from __future__ import annotations

import pytest

from sono.application.maintenance.messages import GetMaintenance, SetMaintenance
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.errors import MaintenanceActive, NotAuthenticated, PermissionDenied, ValidationFailed
from sono.domain.maintenance import DEFAULT_MESSAGE
from tests.unit.conftest import World

OPERATOR = Actor.operator()


async def test_enable_with_and_without_a_message(world: World) -> None:
    admin = await world.principal(await world.register("root", superuser=True))

    state = await world.app.bus(SetMaintenance(True, "Back at 3pm"), admin.actor)
    assert (state.enabled, state.message, state.updated_by_id) == (True, "Back at 3pm", admin.user_id)
    assert (await world.app.bus(GetMaintenance(), ANONYMOUS)).message == "Back at 3pm"

    state = await world.app.bus(SetMaintenance(True, None), admin.actor)
    assert state.message == DEFAULT_MESSAGE

    state = await world.app.bus(SetMaintenance(False, "ignored"), admin.actor)
    assert (state.enabled, state.message) == (False, DEFAULT_MESSAGE)
    async with world.uow(read_only=True) as uow:
        assert await uow.maintenance.get() == state  # the durable state is the one served


async def test_message_is_bounded(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.app.bus(SetMaintenance(True, "x" * 201), OPERATOR)
    assert caught.value.errors[0].field == "message"
    assert not (await world.app.bus(GetMaintenance(), ANONYMOUS)).enabled
    assert (await world.app.bus(SetMaintenance(True, "x" * 200), OPERATOR)).enabled


async def test_only_admins_and_operators_switch_it(world: World) -> None:
    alice = await world.principal(await world.register("alice"))
    with pytest.raises(NotAuthenticated):
        await world.app.bus(SetMaintenance(True), ANONYMOUS)
    with pytest.raises(PermissionDenied):
        await world.app.bus(SetMaintenance(True), alice.actor)
    assert not (await world.app.bus(GetMaintenance(), alice.actor)).enabled


async def test_enforce_turns_away_everyone_but_admins(world: World) -> None:
    await world.app.maintenance.enforce(is_admin=False)  # off: nothing happens
    await world.app.bus(SetMaintenance(True, "Upgrading"), OPERATOR)
    with pytest.raises(MaintenanceActive, match="Upgrading"):
        await world.app.maintenance.enforce(is_admin=False)
    await world.app.maintenance.enforce(is_admin=True)


async def test_changes_are_audited_with_who_switched(world: World) -> None:
    admin = await world.principal(await world.register("root", superuser=True))
    await world.app.bus(SetMaintenance(True, None), OPERATOR)
    await world.app.bus(SetMaintenance(False), admin.actor)
    entries = [e for e in world.uow.database.audit.values() if e.event == "admin.maintenance.changed"]
    assert [(e.actor_id, e.details) for e in entries] == [
        (None, {"enabled": True, "via": "cli"}),
        (admin.user_id, {"enabled": False, "via": "api"}),
    ]
