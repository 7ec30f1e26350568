from __future__ import annotations

import pytest

from sono.application.accounts.messages import Authenticate, Login, Logout, Refresh
from sono.application.common import PasswordInput
from sono.application.maintenance.messages import SetMaintenance
from sono.application.messages import Actor
from sono.domain.errors import BadRequest, MaintenanceActive, NotAuthenticated, PermissionDenied, SessionEnded
from sono.domain.gdpr import AuditEvent
from sono.domain.maintenance import MaintenanceState
from tests.unit.conftest import PASSWORD, World


async def _events(world: World, user_id: int | None) -> list[str]:
    assert user_id is not None
    async with world.uow() as uow:
        return [e.event for e in await uow.audit.list_for_user(user_id)]


async def test_login_by_username_or_email(world: World) -> None:
    user = await world.register()
    for login in ("alice", "ALICE@example.com"):
        pair = await world.send(Login(login, PasswordInput(PASSWORD)))
        principal = await world.send(Authenticate(pair.access_token))
        assert principal.user_id == user.id
        assert pair.token_type == "bearer" and pair.expires_in == 1800


async def test_login_with_an_encrypted_password(world: World) -> None:
    await world.register()
    pair = await world.send(Login("alice", PasswordInput(world.decryptor.encrypt(PASSWORD), encrypted=True)))
    assert pair.access_token
    with pytest.raises(BadRequest, match="Invalid encrypted password"):
        await world.send(Login("alice", PasswordInput("not-encrypted", encrypted=True)))


async def test_wrong_password_and_unknown_account_answer_alike(world: World) -> None:
    user = await world.register()
    with pytest.raises(NotAuthenticated) as wrong:
        await world.send(Login("alice", PasswordInput("Wr0ng!Password")), ip="9.9.9.9")
    with pytest.raises(NotAuthenticated) as unknown:
        await world.send(Login("nobody", PasswordInput(PASSWORD)))
    assert wrong.value.detail == unknown.value.detail == "Incorrect username or password"
    assert world.hasher.dummy_calls == 1  # the unknown account still paid for a verification
    assert AuditEvent.LOGIN_FAILURE in await _events(world, user.id)


async def test_disabled_account_is_refused_after_the_password_check(world: World) -> None:
    user = await world.register()
    async with world.uow() as uow:
        stored = await uow.users.get(user.id)  # type: ignore[arg-type]
        assert stored is not None
        stored.is_active = False
        await uow.commit()
    with pytest.raises(PermissionDenied, match="This account has been deactivated"):
        await world.send(Login("alice", PasswordInput(PASSWORD)))
    with pytest.raises(NotAuthenticated):
        await world.send(Login("alice", PasswordInput("Wr0ng!Password")))


async def test_login_upgrades_an_old_hash(world: World) -> None:
    user = await world.register()
    async with world.uow() as uow:
        stored = await uow.users.get(user.id)  # type: ignore[arg-type]
        assert stored is not None
        stored.password_hash = world.hasher.legacy_hash(PASSWORD)
        await uow.commit()

    await world.send(Login("alice", PasswordInput(PASSWORD)))

    stored = await world.user(user.id)  # type: ignore[arg-type]
    assert stored is not None and not world.hasher.needs_rehash(stored.password_hash)
    assert await world.hasher.verify(stored.password_hash, PASSWORD)


async def test_only_admins_log_in_during_maintenance(world: World) -> None:
    await world.register("alice")
    await world.register("root", superuser=True)
    world.maintenance.state = MaintenanceState(enabled=True, message="Back at 3pm")

    with pytest.raises(MaintenanceActive, match="Back at 3pm"):
        await world.send(Login("alice", PasswordInput(PASSWORD)))
    assert (await world.send(Login("root", PasswordInput(PASSWORD)))).access_token


async def test_refresh_rotates_and_the_old_token_stops_working(world: World) -> None:
    await world.register()
    first = await world.send(Login("alice", PasswordInput(PASSWORD)))

    second = await world.send(Refresh(first.refresh_token))

    assert second.refresh_token != first.refresh_token
    assert (await world.send(Authenticate(second.access_token))).user.username == "alice"
    third = await world.send(Refresh(second.refresh_token))
    assert third.access_token


async def test_reusing_a_rotated_refresh_token_ends_the_session(world: World) -> None:
    user = await world.register()
    first = await world.send(Login("alice", PasswordInput(PASSWORD)))
    second = await world.send(Refresh(first.refresh_token))
    world.clock.advance(61)  # past the grace window

    with pytest.raises(SessionEnded, match="Invalid refresh token"):
        await world.send(Refresh(first.refresh_token))
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(second.refresh_token))
    with pytest.raises(SessionEnded):  # the session's access tokens end with it
        await world.send(Authenticate(second.access_token))
    assert AuditEvent.TOKEN_REUSE in await _events(world, user.id)
    # Other sessions of the same user are untouched.
    other = await world.send(Login("alice", PasswordInput(PASSWORD)))
    assert await world.send(Refresh(other.refresh_token))


async def test_access_token_is_not_a_refresh_token(world: World) -> None:
    await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(pair.access_token))
    with pytest.raises(NotAuthenticated):
        await world.send(Authenticate(pair.refresh_token))


async def test_logout_ends_the_access_and_the_refresh_token(world: World) -> None:
    user = await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    other = await world.send(Login("alice", PasswordInput(PASSWORD)))
    principal = await world.send(Authenticate(pair.access_token))

    await world.send(Logout(principal.claims.family_id, pair.refresh_token), principal.actor, ip="1.1.1.1")

    with pytest.raises(NotAuthenticated):
        await world.send(Authenticate(pair.access_token))
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(pair.refresh_token))
    assert await world.send(Authenticate(other.access_token))  # another session lives on
    assert AuditEvent.LOGOUT in await _events(world, user.id)


async def test_logout_ignores_a_refresh_token_of_someone_else(world: World) -> None:
    await world.register("alice")
    await world.register("bob")
    alice = await world.send(Login("alice", PasswordInput(PASSWORD)))
    bob = await world.send(Login("bob", PasswordInput(PASSWORD)))
    principal = await world.send(Authenticate(alice.access_token))

    await world.send(Logout(principal.claims.family_id, bob.refresh_token), principal.actor)

    assert await world.send(Refresh(bob.refresh_token))


async def test_access_tokens_expire(world: World) -> None:
    await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    world.clock.advance(31 * 60)
    with pytest.raises(NotAuthenticated):
        await world.send(Authenticate(pair.access_token))
    assert await world.send(Refresh(pair.refresh_token))
    world.clock.advance(8 * 86400)
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(pair.refresh_token))


async def test_ending_all_sessions_kills_every_token(world: World) -> None:
    user = await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    async with world.uow() as uow:
        stored = await uow.users.get(user.id)  # type: ignore[arg-type]
        assert stored is not None
        stored.end_all_sessions()
        await uow.commit()
    with pytest.raises(NotAuthenticated):
        await world.send(Authenticate(pair.access_token))
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(pair.refresh_token))


async def test_forged_and_garbage_tokens_are_refused(world: World) -> None:
    await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    header, payload, signature = pair.access_token.split(".")
    for token in ("", "garbage", f"{header}.{payload}.{signature[::-1]}"):
        with pytest.raises(NotAuthenticated):
            await world.send(Authenticate(token))


async def test_the_last_rotated_token_is_accepted_again_within_the_grace_window(world: World) -> None:
    await world.register()
    first = await world.send(Login("alice", PasswordInput(PASSWORD)))
    second = await world.send(Refresh(first.refresh_token))
    world.clock.advance(59)

    again = await world.send(Refresh(first.refresh_token))  # a racing request of the same client

    assert world.tokens.decode_refresh(again.refresh_token).jti == world.tokens.decode_refresh(second.refresh_token).jti
    assert (await world.send(Authenticate(again.access_token))).user.username == "alice"
    assert (await world.send(Authenticate(second.access_token))).user.username == "alice"
    third = await world.send(Refresh(second.refresh_token))  # the session goes on
    with pytest.raises(SessionEnded):  # two rotations back is reuse, even within the window
        await world.send(Refresh(first.refresh_token))
    with pytest.raises(SessionEnded):
        await world.send(Authenticate(third.access_token))


async def test_logout_ends_the_callers_session_whatever_refresh_token_it_sends(world: World) -> None:
    await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    principal = await world.send(Authenticate(pair.access_token))

    await world.send(Logout(principal.claims.family_id, "not-a-token"), principal.actor)

    with pytest.raises(SessionEnded):
        await world.send(Authenticate(pair.access_token))
    with pytest.raises(SessionEnded):
        await world.send(Refresh(pair.refresh_token))


async def test_during_maintenance_a_non_admin_login_is_refused_before_the_password_check(world: World) -> None:
    await world.register("alice")
    await world.register("root", superuser=True)
    await world.app.bus(SetMaintenance(True, "Back soon"), Actor.operator())
    before = (world.hasher.verify_calls, world.hasher.dummy_calls)

    for password in (PASSWORD, "Wr0ng!Password"):
        with pytest.raises(MaintenanceActive, match="Back soon"):
            await world.send(Login("alice", PasswordInput(password)))
    with pytest.raises(MaintenanceActive):
        await world.send(Login("nobody", PasswordInput(PASSWORD)))
    assert (world.hasher.verify_calls, world.hasher.dummy_calls) == before  # no password was looked at
    admin = await world.send(Login("root", PasswordInput(PASSWORD)))
    assert await world.send(Refresh(admin.refresh_token))


async def test_during_maintenance_only_admins_refresh(world: World) -> None:
    await world.register("alice")
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    await world.app.bus(SetMaintenance(True), Actor.operator())
    with pytest.raises(MaintenanceActive):
        await world.send(Refresh(pair.refresh_token))
    with pytest.raises(MaintenanceActive):
        await world.send(Refresh("garbage"))
