"""Accounts and sessions through the bus on the fakes: who may send each message, the caller's
token's session carried as a field (``Logout``), the request's address from the context."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from sono.application import context
from sono.application.accounts.messages import (
    Authenticate,
    CreateAdmin,
    FileProfilePicture,
    ForgotPassword,
    GetMe,
    Login,
    Logout,
    PromoteUser,
    PurgeExpiredSessions,
    Register,
    ResetPassword,
    SearchUsers,
    SetProfilePicture,
    StageProfilePicture,
    UpdateProfile,
    VerifyResetToken,
)
from sono.application.common import PasswordInput
from sono.application.gdpr.messages import DeleteAccount
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.errors import (
    BadRequest,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    SessionEnded,
    ValidationFailed,
)
from sono.domain.gdpr import AuditEvent, DeletionType
from tests.unit.conftest import PASSWORD, World
from tests.unit.test_password_reset import _token_from_last_mail


async def _actor(world: World, name: str = "alice") -> Actor:
    user = await world.register(name)
    assert user.id is not None
    return Actor.user(user.id)


@pytest.mark.parametrize("message", [UpdateProfile(bio="x"), SearchUsers("al"), Logout("s"), PromoteUser("alice")])
async def test_account_messages_refuse_anonymous_callers(world: World, message: object) -> None:
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message, ANONYMOUS)  # type: ignore[arg-type]


async def test_a_profile_update_changes_only_what_was_sent(world: World) -> None:
    actor = await _actor(world)
    user = (await world.app.bus(UpdateProfile(display_name="Alice", bio="hi"), actor)).user
    assert (user.display_name, user.bio) == ("Alice", "hi")
    user = (await world.app.bus(UpdateProfile(bio=None), actor)).user
    assert (user.display_name, user.bio) == ("Alice", None)
    with pytest.raises(ValidationFailed):
        await world.app.bus(UpdateProfile(display_name="x" * 1000), actor)
    with pytest.raises(SessionEnded):
        await world.app.bus(UpdateProfile(bio="gone"), Actor.user(999))


async def test_search_finds_active_users_by_part_of_their_name(world: World) -> None:
    actor = await _actor(world)
    await world.register("bob")
    page = await world.app.bus(SearchUsers(" BO "), actor)
    assert [view.user.username for view in page.items] == ["bob"]
    with pytest.raises(ValidationFailed):
        await world.app.bus(SearchUsers("b"), actor)


async def test_only_an_admin_or_the_operator_promotes(world: World) -> None:
    actor = await _actor(world)
    with pytest.raises(PermissionDenied):
        await world.app.bus(PromoteUser("alice"), actor)
    with pytest.raises(NotFound):
        await world.app.bus(PromoteUser("nobody"), Actor.operator())
    assert (await world.app.bus(PromoteUser("alice"), Actor.operator())).is_superuser


async def test_logout_ends_the_named_session_and_the_refresh_token_s(world: World) -> None:
    await world.register("alice")
    first = await world.send(Login("alice", PasswordInput(PASSWORD)))
    second = await world.send(Login("alice", PasswordInput(PASSWORD)))
    kept = await world.send(Login("alice", PasswordInput(PASSWORD)))
    principal = await world.send(Authenticate(first.access_token))
    with context.bind(ip="198.51.100.4"):
        await world.app.bus(Logout(principal.claims.family_id, second.refresh_token), principal.actor)
    for ended in (first, second):
        with pytest.raises(SessionEnded):
            await world.send(Authenticate(ended.access_token))
    assert await world.send(Authenticate(kept.access_token))
    async with world.uow() as uow:
        entries = await uow.audit.list_for_user(principal.user_id)
    assert (AuditEvent.LOGOUT, "198.51.100.4") in [(e.event, e.ip_address) for e in entries]


async def test_logout_leaves_other_users_sessions_alone(world: World) -> None:
    await world.register("alice")
    await world.register("bob")
    bob = await world.send(Login("bob", PasswordInput(PASSWORD)))
    bob_session = (await world.send(Authenticate(bob.access_token))).claims.family_id
    alice = await world.send(Authenticate((await world.send(Login("alice", PasswordInput(PASSWORD)))).access_token))
    await world.app.bus(Logout(bob_session, bob.refresh_token), alice.actor)
    assert await world.send(Authenticate(bob.access_token))


async def test_an_unknown_reset_token_is_refused_to_anyone(world: World) -> None:
    with pytest.raises(BadRequest):
        await world.app.bus(VerifyResetToken("nope"), ANONYMOUS)


async def test_a_refused_login_is_audited_with_the_request_s_address_and_hashes_outside(world: World) -> None:
    await world.register("alice")
    with context.bind(ip="203.0.113.5"), pytest.raises(NotAuthenticated):
        await world.app.bus(Login("alice", PasswordInput("Wr0ng!Password")), ANONYMOUS)
    pair = await world.app.bus(Login(" alice ", PasswordInput(PASSWORD)), ANONYMOUS)
    principal = await world.app.bus(Authenticate(pair.access_token), ANONYMOUS)
    assert principal.user.username == "alice"
    async with world.uow() as uow:
        entries = [(e.event, e.ip_address) for e in await uow.audit.list_for_user(principal.user_id)]
    assert (AuditEvent.LOGIN_FAILURE, "203.0.113.5") in entries


async def test_authenticating_opens_no_unit_of_work(world: World) -> None:
    await world.register("alice")
    pair = await world.app.bus(Login("alice", PasswordInput(PASSWORD)), ANONYMOUS)
    opened = len(world.uow.units)
    await world.app.bus(Authenticate(pair.access_token), ANONYMOUS)
    assert len(world.uow.units) == opened


async def test_the_callers_account_comes_with_its_pictures_url_and_no_unit_of_work(world: World) -> None:
    await world.register("alice")
    pair = await world.app.bus(Login("alice", PasswordInput(PASSWORD)), ANONYMOUS)
    principal = await world.app.bus(Authenticate(pair.access_token), ANONYMOUS)
    assert (await world.app.bus(GetMe(principal.user), principal.actor)).picture_url is None
    await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), principal.actor)
    principal = await world.app.bus(Authenticate(pair.access_token), ANONYMOUS)
    key = principal.user.profile_picture_key
    assert key is not None

    opened = len(world.uow.units)
    view = await world.app.bus(GetMe(principal.user), principal.actor)
    assert len(world.uow.units) == opened
    assert view.user is principal.user and view.picture_url == f"memory://media/{key}"

    with pytest.raises(PermissionDenied):  # only the caller's own account
        await world.app.bus(GetMe(principal.user), Actor.user(principal.user_id + 1))
    with pytest.raises(NotAuthenticated):
        await world.app.bus(GetMe(principal.user), ANONYMOUS)


async def test_a_search_answers_each_users_picture_url(world: World) -> None:
    actor = await _actor(world)
    bob = await world.register("bob")
    await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE bob")), Actor.user(bob.id))  # type: ignore[arg-type]
    stored = await world.user(bob.id)  # type: ignore[arg-type]
    assert stored is not None and stored.profile_picture_key is not None
    page = await world.app.bus(SearchUsers("bob"), actor)
    assert [(v.user.username, v.picture_url) for v in page.items] == [
        ("bob", f"memory://media/{stored.profile_picture_key}")
    ]


async def test_only_the_operator_creates_admins(world: World) -> None:
    message = CreateAdmin("root", "root@example.com", PasswordInput(PASSWORD))
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message, ANONYMOUS)
    assert (await world.app.bus(message, Actor.operator())).is_superuser
    with pytest.raises(Conflict):
        await world.app.bus(Register("ROOT", "other@example.com", PasswordInput(PASSWORD)), ANONYMOUS)
    user = (await world.app.bus(Register("bob", "bob@example.com", PasswordInput(PASSWORD)), ANONYMOUS)).user
    assert not user.is_superuser


async def test_a_reset_link_is_mailed_after_the_commit_and_resets_once(world: World) -> None:
    await world.register("alice")
    await world.app.bus(ForgotPassword("alice@example.com"), ANONYMOUS)
    assert len(world.mailer.sent) == 1
    token = _token_from_last_mail(world)
    await world.app.bus(ResetPassword(token, PasswordInput("N3w!Password")), ANONYMOUS)
    with pytest.raises(BadRequest):
        await world.app.bus(ResetPassword(token, PasswordInput("N3w!Password2")), ANONYMOUS)
    assert await world.app.bus(Login("alice", PasswordInput("N3w!Password")), ANONYMOUS)


async def test_deleting_the_account_checks_its_password_first(world: World) -> None:
    actor = await _actor(world)
    with pytest.raises(NotAuthenticated):
        await world.app.bus(DeleteAccount(PasswordInput("Wr0ng!Password"), DeletionType.HARD), actor)
    assert await world.user(actor.id) is not None
    await world.app.bus(DeleteAccount(PasswordInput(PASSWORD), DeletionType.HARD), actor)
    assert await world.user(actor.id) is None


async def test_a_picture_whose_profile_is_not_changed_is_removed_again(world: World) -> None:
    actor = await _actor(world)
    user = (await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), actor)).user
    assert user.profile_picture_key and await world.storage.exists(user.profile_picture_key)
    with pytest.raises(SessionEnded):  # the account is gone: its staging step is refused, nothing is stored
        await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE two")), Actor.user(999))
    assert list(world.storage.objects) == [user.profile_picture_key]
    async with world.uow() as uow:
        assert await uow.pending_objects.older_than(world.clock.now() + timedelta(days=1), 10) == []


@pytest.mark.parametrize(
    "message",
    [SetProfilePicture(io.BytesIO(b"FAKEIMAGE")), StageProfilePicture("webp"), FileProfilePicture("avatars/1/x.webp")],
    ids=lambda m: type(m).__name__,
)
async def test_a_picture_is_only_the_signed_in_callers(world: World, message: object) -> None:
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message, ANONYMOUS)  # type: ignore[arg-type]
    assert world.storage.objects == {} and list(world.uow.database.pending_objects) == []


async def test_a_picture_is_staged_as_pending_then_filed_under_the_callers_key(world: World) -> None:
    actor = await _actor(world)
    key = await world.app.bus(StageProfilePicture("webp"), actor)
    assert key.startswith(f"avatars/{actor.id}/") and key.endswith(".webp")
    assert list(world.uow.database.pending_objects) == [key]

    bob = await _actor(world, "bob")
    with pytest.raises(PermissionDenied):  # not one of bob's picture keys
        await world.app.bus(FileProfilePicture(key), bob)
    assert (await world.user(bob.id)).profile_picture_key is None  # type: ignore[union-attr]

    user = await world.app.bus(FileProfilePicture(key), actor)
    assert user.profile_picture_key == key
    assert list(world.uow.database.pending_objects) == []


async def test_a_picture_that_cannot_be_filed_is_removed_and_forgotten(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = await _actor(world)

    async def gone(self: object, user_id: int) -> None:
        return None

    from tests.fakes.repositories.accounts import FakeUserRepository

    monkeypatch.setattr(FakeUserRepository, "lock_for_change", gone)
    with pytest.raises(NotFound):  # the filing step fails after the object was stored
        await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), actor)

    assert world.storage.objects == {}
    assert list(world.uow.database.pending_objects) == []
    assert (await world.user(actor.id)).profile_picture_key is None  # type: ignore[union-attr]


async def test_the_worker_purges_expired_sessions_and_reset_tokens(world: World) -> None:
    await world.register("alice")
    await world.send(Login("alice", PasswordInput(PASSWORD)))
    await world.app.bus(ForgotPassword("alice@example.com"), ANONYMOUS)
    assert await world.app.bus(PurgeExpiredSessions(), Actor.worker()) == (0, 0)
    world.clock.advance(8 * 86400)
    assert await world.app.bus(PurgeExpiredSessions(), Actor.worker()) == (1, 1)
