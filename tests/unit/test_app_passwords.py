"""Subsonic app passwords on the fakes: making, listing and revoking them, every way a player
authenticates with one and every reason it is refused, and the lifecycle that revokes them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import fields
from urllib.parse import unquote

import pytest

from sono.application.accounts.messages import ForgotPassword, ResetPassword
from sono.application.admin.messages import DeleteUser, DisableUser
from sono.application.app_passwords.messages import (
    ApiKeyCredential,
    AppPasswordRefused,
    AuthenticateAppPassword,
    CreateAppPassword,
    CreatedAppPassword,
    ListAppPasswords,
    ListUserAppPasswords,
    PasswordCredential,
    Refusal,
    RevokeAppPassword,
    RevokeUserAppPassword,
    TokenCredential,
)
from sono.application.common import PasswordInput, Principal
from sono.application.gdpr.messages import DeleteAccount, ExportData
from sono.application.messages import ANONYMOUS, Actor, Via
from sono.domain.app_passwords import MAX_PER_USER, SECRET_LENGTH, AppPassword, UseDue, token_for
from sono.domain.errors import BadRequest, Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from sono.domain.gdpr import AuditEvent, DeletionType
from tests.unit.conftest import PASSWORD, World, make_world

SECRET = re.compile(rf"[A-Za-z0-9]{{{SECRET_LENGTH}}}")


async def _alice(world: World, name: str = "alice") -> Principal:
    return await world.principal(await world.register(name))


async def _create(world: World, who: Principal, name: str = "Phone") -> CreatedAppPassword:
    return await world.app.bus(CreateAppPassword(name), who.actor)


async def _auth(world: World, credential: object, client: str | None = "DSub") -> Actor:
    return await world.app.bus(AuthenticateAppPassword(credential, client), ANONYMOUS)  # type: ignore[arg-type]


async def _refusal(world: World, credential: object) -> Refusal:
    with pytest.raises(AppPasswordRefused) as refused:
        await _auth(world, credential)
    return refused.value.reason


async def _stored(world: World) -> list[AppPassword]:
    async with world.uow() as uow:
        return sorted(uow.app_passwords.db.app_passwords.values(), key=lambda c: c.id or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- making, listing, revoking


async def test_a_new_app_password_shows_its_secret_once_and_keeps_only_a_digest(world: World) -> None:
    alice = await _alice(world)
    created = await _create(world, alice, "  Phone  ")
    assert SECRET.fullmatch(created.secret)
    view = created.credential
    assert (view.name, view.hint, view.created_at) == ("Phone", created.secret[-4:], world.clock.now())
    assert (view.last_used_at, view.last_client) == (None, None)
    assert "secret=***" in repr(created) and created.secret not in repr(created)

    listed = await world.app.bus(ListAppPasswords(), alice.actor)
    assert listed == [view]
    assert not any(hasattr(item, "secret") for item in listed)
    (stored,) = await _stored(world)
    assert created.secret not in repr([getattr(stored, f.name) for f in fields(stored)])
    assert stored.sealed_secret is not None and created.secret.encode() not in stored.sealed_secret
    assert stored.lookup == world.app.sealer.lookup(created.secret)


async def test_secrets_are_random_and_lists_are_newest_first(world: World) -> None:
    alice = await _alice(world)
    first = await _create(world, alice, "One")
    world.clock.advance(1)
    second = await _create(world, alice, "Two")
    assert first.secret != second.secret
    assert [v.name for v in await world.app.bus(ListAppPasswords(), alice.actor)] == ["Two", "One"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
async def test_a_name_is_one_to_64_characters(world: World, name: str) -> None:
    alice = await _alice(world)
    with pytest.raises(ValidationFailed) as failed:
        await _create(world, alice, name)
    assert failed.value.errors[0].field == "name"
    await _create(world, alice, "x" * 64)


async def test_a_name_is_unique_per_user(world: World) -> None:
    alice, bob = await _alice(world), await _alice(world, "bob")
    await _create(world, alice, "Phone")
    with pytest.raises(Conflict):
        await _create(world, alice, " Phone")
    await _create(world, bob, "Phone")


async def test_at_most_ten_per_user(world: World) -> None:
    alice, bob = await _alice(world), await _alice(world, "bob")
    for n in range(MAX_PER_USER):
        await _create(world, alice, f"Device {n}")
    with pytest.raises(BadRequest):
        await _create(world, alice, "One too many")
    await _create(world, bob, "Phone")
    first = (await world.app.bus(ListAppPasswords(), alice.actor))[-1]
    await world.app.bus(RevokeAppPassword(first.id), alice.actor)
    await _create(world, alice, "Room again")


async def test_only_signed_in_users_make_and_list_them(world: World) -> None:
    with pytest.raises(NotAuthenticated):
        await world.app.bus(CreateAppPassword("Phone"), ANONYMOUS)
    with pytest.raises(NotAuthenticated):
        await world.app.bus(ListAppPasswords(), ANONYMOUS)


async def test_revoking_works_on_ones_own_only(world: World) -> None:
    alice, bob = await _alice(world), await _alice(world, "bob")
    created = await _create(world, alice)
    for stranger_id in (created.credential.id, 999):
        with pytest.raises(NotFound):
            await world.app.bus(RevokeAppPassword(stranger_id), bob.actor)
    await world.app.bus(RevokeAppPassword(created.credential.id), alice.actor)
    assert await world.app.bus(ListAppPasswords(), alice.actor) == []
    assert await _refusal(world, ApiKeyCredential(created.secret)) is Refusal.INVALID_API_KEY
    with pytest.raises(NotFound):
        await world.app.bus(RevokeAppPassword(created.credential.id), alice.actor)


async def test_admins_list_and_revoke_a_users_app_passwords_and_it_is_audited(world: World) -> None:
    root = await world.principal(await world.register("root", superuser=True))
    alice, bob = await _alice(world), await _alice(world, "bob")
    created = await _create(world, alice)
    with pytest.raises(PermissionDenied):
        await world.app.bus(ListUserAppPasswords(alice.user_id), bob.actor)
    with pytest.raises(PermissionDenied):
        await world.app.bus(RevokeUserAppPassword(alice.user_id, created.credential.id), bob.actor)
    assert await world.app.bus(ListUserAppPasswords(alice.user_id), root.actor) == [created.credential]
    with pytest.raises(NotFound):
        await world.app.bus(ListUserAppPasswords(9999), root.actor)
    with pytest.raises(NotFound):  # not bob's
        await world.app.bus(RevokeUserAppPassword(bob.user_id, created.credential.id), root.actor)
    await world.app.bus(RevokeUserAppPassword(alice.user_id, created.credential.id), root.actor)
    assert await world.app.bus(ListUserAppPasswords(alice.user_id), root.actor) == []
    async with world.uow() as uow:
        entries = await uow.audit.list_for_user(alice.user_id)
    (entry,) = [e for e in entries if e.event == AuditEvent.ADMIN_ACTION]
    assert (entry.actor_id, entry.details["action"]) == (root.user_id, "revoke_app_password")
    assert created.secret not in repr(entry.details)


# ---------------------------------------------------------------------- authenticating


async def test_each_kind_of_credential_authenticates_the_user(world: World) -> None:
    alice = await _alice(world)
    secret = (await _create(world, alice)).secret
    expected = Actor.user(alice.user_id, is_admin=False, via=Via.APP_PASSWORD)
    assert await _auth(world, ApiKeyCredential(secret)) == expected
    assert await _auth(world, PasswordCredential("alice", secret)) == expected
    assert await _auth(world, PasswordCredential("ALICE", secret)) == expected
    assert await _auth(world, TokenCredential("alice", token_for(secret, "s4lt"), "s4lt")) == expected
    assert await _auth(world, TokenCredential("Alice", token_for(secret, "x").upper(), "x")) == expected


async def test_an_admin_authenticates_as_an_admin(world: World) -> None:
    root = await world.principal(await world.register("root", superuser=True))
    secret = (await _create(world, root)).secret
    actor = await _auth(world, ApiKeyCredential(secret))
    assert (actor.user_id, actor.is_admin, actor.via) == (root.user_id, True, Via.APP_PASSWORD)


async def test_the_token_matches_any_of_the_users_app_passwords(world: World) -> None:
    alice = await _alice(world)
    secrets = [(await _create(world, alice, f"D{n}")).secret for n in range(3)]
    for secret in secrets:
        assert (await _auth(world, TokenCredential("alice", token_for(secret, "abc"), "abc"))).user_id == alice.user_id


async def test_every_failure_has_its_reason(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = await _alice(world)
    await _alice(world, "bob")
    secret = (await _create(world, alice)).secret
    other = (await _create(world, await _alice(world, "carol"))).secret
    token = token_for(secret, "salt")
    wrong = Refusal.WRONG_CREDENTIALS

    async def no_argon2(*args: object) -> bool:
        raise AssertionError("authentication ran the password hasher")

    monkeypatch.setattr(world.hasher, "verify", no_argon2)
    monkeypatch.setattr(world.hasher, "verify_dummy", no_argon2)
    assert await _refusal(world, ApiKeyCredential("x" * 32)) is Refusal.INVALID_API_KEY
    assert await _refusal(world, ApiKeyCredential("")) is Refusal.INVALID_API_KEY
    assert await _refusal(world, PasswordCredential("alice", "wrong")) is wrong
    assert await _refusal(world, PasswordCredential("alice", PASSWORD)) is wrong  # the account password
    assert await _refusal(world, PasswordCredential("bob", secret)) is wrong  # someone else's secret
    assert await _refusal(world, PasswordCredential("alice", other)) is wrong
    assert await _refusal(world, PasswordCredential("nobody", secret)) is wrong
    assert await _refusal(world, TokenCredential("alice", token_for(PASSWORD, "salt"), "salt")) is wrong
    assert await _refusal(world, TokenCredential("alice", token, "other salt")) is wrong
    assert await _refusal(world, TokenCredential("bob", token, "salt")) is wrong
    assert await _refusal(world, TokenCredential("nobody", token, "salt")) is wrong
    assert await _refusal(world, TokenCredential("alice", "é" * 32, "salt")) is wrong  # hostile, not a 500
    assert await _refusal(world, TokenCredential("al\x00ice", token, "salt")) is wrong
    assert await _refusal(world, TokenCredential("", token, "salt")) is wrong


async def test_a_refusal_is_not_authenticated_and_names_no_secret(world: World) -> None:
    error = AppPasswordRefused(Refusal.WRONG_CREDENTIALS)
    assert isinstance(error, NotAuthenticated)
    assert error.detail == "Wrong username or password"
    assert "***" in repr(PasswordCredential("alice", "hunter2")) and "hunter2" not in repr(
        AuthenticateAppPassword(PasswordCredential("alice", "hunter2"))
    )


async def test_a_disabled_user_is_refused_even_with_a_credential_left(world: World) -> None:
    alice = await _alice(world)
    secret = (await _create(world, alice)).secret
    async with world.uow() as uow:  # a row the revocation did not reach: the active check still holds
        user = await uow.users.get(alice.user_id)
        assert user is not None
        user.is_active = False
        await uow.commit()
    assert await _refusal(world, PasswordCredential("alice", secret)) is Refusal.WRONG_CREDENTIALS
    assert await _refusal(world, TokenCredential("alice", token_for(secret, "s"), "s")) is Refusal.WRONG_CREDENTIALS
    assert await _refusal(world, ApiKeyCredential(secret)) is Refusal.INVALID_API_KEY


async def test_the_last_use_is_recorded_at_most_once_a_minute(world: World) -> None:
    alice = await _alice(world)
    secret = (await _create(world, alice)).secret
    first = world.clock.now()
    await _auth(world, ApiKeyCredential(secret), client="DSub")
    world.clock.advance(30)
    await _auth(world, ApiKeyCredential(secret), client="Symfonium")
    (view,) = await world.app.bus(ListAppPasswords(), alice.actor)
    assert (view.last_used_at, view.last_client) == (first, "DSub")
    world.clock.advance(30)
    await _auth(world, PasswordCredential("alice", secret), client="Symfonium")
    (view,) = await world.app.bus(ListAppPasswords(), alice.actor)
    assert (view.last_used_at, view.last_client) == (world.clock.now(), "Symfonium")
    world.clock.advance(60)
    await _auth(world, ApiKeyCredential(secret), client=None)
    (view,) = await world.app.bus(ListAppPasswords(), alice.actor)
    assert (view.last_used_at, view.last_client) == (world.clock.now(), "Symfonium")


def test_use_due_is_one_rule(world: World) -> None:
    now = world.clock.now()
    credential = AppPassword(None, 1, "n", "l", None, "hint", now)
    due = UseDue(now)
    assert due.matches(credential)
    credential.record_use(now, "c" * 500)
    assert not due.matches(credential) and credential.last_client == "c" * 100


async def test_token_auth_switched_off_refuses_tokens_and_seals_nothing(clock: object) -> None:
    world = make_world(clock, SONO_SUBSONIC_TOKEN_AUTH="false")  # type: ignore[arg-type]
    alice = await _alice(world)
    secret = (await _create(world, alice)).secret
    (stored,) = await _stored(world)
    assert stored.sealed_secret is None
    refused = await _refusal(world, TokenCredential("alice", token_for(secret, "s"), "s"))
    assert refused is Refusal.TOKEN_AUTH_DISABLED
    assert (await _auth(world, PasswordCredential("alice", secret))).user_id == alice.user_id
    assert (await _auth(world, ApiKeyCredential(secret))).user_id == alice.user_id


async def test_a_secret_sealed_under_another_key_does_not_match(world: World) -> None:
    alice = await _alice(world)
    secret = (await _create(world, alice)).secret
    (stored,) = await _stored(world)
    stored.sealed_secret = b"\x01" + b"\x00" * 40
    assert await _refusal(world, TokenCredential("alice", token_for(secret, "s"), "s")) is Refusal.WRONG_CREDENTIALS
    assert (await _auth(world, ApiKeyCredential(secret))).user_id == alice.user_id


def test_the_token_is_md5_of_secret_and_salt() -> None:
    assert token_for("sesame", "c19b2d") == hashlib.md5(b"sesamec19b2d").hexdigest()
    assert token_for("sesame", "c19b2d") == "26719a1196d2a940705a59634eb18eab"


# ---------------------------------------------------------------------- lifecycle


async def _alice_with_credential(world: World) -> tuple[Principal, str]:
    alice = await _alice(world)
    return alice, (await _create(world, alice)).secret


async def _assert_revoked(world: World, user_id: int, secret: str) -> None:
    assert [c for c in await _stored(world) if c.user_id == user_id] == []
    assert await _refusal(world, ApiKeyCredential(secret)) is Refusal.INVALID_API_KEY


async def test_disabling_a_user_revokes_their_app_passwords(world: World) -> None:
    root = await world.principal(await world.register("root", superuser=True))
    alice, secret = await _alice_with_credential(world)
    bob = await _alice(world, "bob")
    bobs = (await _create(world, bob)).secret
    await world.app.bus(DisableUser(alice.user_id), root.actor)
    await _assert_revoked(world, alice.user_id, secret)
    assert (await _auth(world, ApiKeyCredential(bobs))).user_id == bob.user_id


async def test_a_password_reset_revokes_them(world: World) -> None:
    alice, secret = await _alice_with_credential(world)
    await world.send(ForgotPassword("alice@example.com"))
    match = re.search(r"reset-password\?token=([\w%-]+)", world.mailer.sent[-1].text)
    assert match
    await world.send(ResetPassword(unquote(match.group(1)), PasswordInput("N3w!Passw0rdX")))
    await _assert_revoked(world, alice.user_id, secret)


@pytest.mark.parametrize("deletion_type", [DeletionType.SOFT, DeletionType.HARD])
async def test_deleting_the_account_revokes_them(world: World, deletion_type: DeletionType) -> None:
    alice, secret = await _alice_with_credential(world)
    await world.send(DeleteAccount(PasswordInput(PASSWORD), deletion_type), alice.actor)
    await _assert_revoked(world, alice.user_id, secret)


async def test_an_admin_deletion_removes_them(world: World) -> None:
    root = await world.principal(await world.register("root", superuser=True))
    alice, secret = await _alice_with_credential(world)
    await world.app.bus(DeleteUser(alice.user_id), root.actor)
    await _assert_revoked(world, alice.user_id, secret)


async def test_the_export_lists_them_by_name_and_dates_only(world: World) -> None:
    alice, secret = await _alice_with_credential(world)
    await _auth(world, ApiKeyCredential(secret), client="DSub")
    export = await world.send(ExportData(), alice.actor)
    (item,) = export.app_passwords
    assert (item.name, item.created_at, item.last_used_at, item.last_client) == (
        "Phone",
        world.clock.now(),
        world.clock.now(),
        "DSub",
    )
    assert not hasattr(item, "lookup") and not hasattr(item, "sealed_secret")
    assert secret not in repr(export)
