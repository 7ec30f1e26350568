from __future__ import annotations

import pytest

from sono.domain.errors import MaintenanceActive, ValidationFailed
from sono.domain.maintenance import DEFAULT_MESSAGE
from tests.unit.conftest import World


async def test_enable_with_and_without_a_message(world: World) -> None:
    admin = await world.principal(await world.register("root", superuser=True))

    state = await world.app.maintenance.set(True, "Back at 3pm", actor_id=admin.user_id)
    assert (state.enabled, state.message, state.updated_by_id) == (True, "Back at 3pm", admin.user_id)
    assert (await world.app.maintenance.status()).message == "Back at 3pm"

    state = await world.app.maintenance.set(True, None, actor_id=admin.user_id)
    assert state.message == DEFAULT_MESSAGE

    state = await world.app.maintenance.set(False, "ignored", actor_id=admin.user_id)
    assert (state.enabled, state.message) == (False, DEFAULT_MESSAGE)


async def test_message_is_bounded(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.app.maintenance.set(True, "x" * 201)
    assert caught.value.errors[0].field == "message"
    assert not (await world.app.maintenance.status()).enabled
    assert (await world.app.maintenance.set(True, "x" * 200)).enabled


async def test_enforce_turns_away_everyone_but_admins(world: World) -> None:
    await world.app.maintenance.enforce(is_admin=False)  # off: nothing happens
    await world.app.maintenance.set(True, "Upgrading")
    with pytest.raises(MaintenanceActive, match="Upgrading"):
        await world.app.maintenance.enforce(is_admin=False)
    await world.app.maintenance.enforce(is_admin=True)


async def test_changes_are_audited(world: World) -> None:
    await world.app.maintenance.set(True, None)
    events = [e.event for e in world.uow.database.audit.values()]  # type: ignore[attr-defined]
    assert "admin.maintenance.changed" in events
