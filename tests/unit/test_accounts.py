from __future__ import annotations

import io

import pytest

from sono.application.accounts.messages import PromoteUser, Register, SetProfilePicture, UpdateProfile
from sono.application.common import PasswordInput
from sono.application.messages import Actor
from sono.domain.errors import BadRequest, Conflict, NotFound, UnsupportedMedia, ValidationFailed
from sono.domain.gdpr import AuditEvent
from tests.unit.conftest import PASSWORD, World


async def test_register_stores_a_hashed_password_and_audits(world: World) -> None:
    view = await world.send(Register("alice", "Alice@Example.com", PasswordInput(PASSWORD), "Alice"), ip="1.2.3.4")
    user = view.user
    assert view.picture_url is None  # no picture yet

    assert user.id is not None
    stored = await world.user(user.id)
    assert stored is not None
    assert stored.email == "Alice@Example.com"
    assert stored.display_name == "Alice"
    assert stored.password_hash != PASSWORD
    assert await world.hasher.verify(stored.password_hash, PASSWORD)
    assert not stored.is_superuser and stored.is_active and stored.max_audio_uploads == 20
    async with world.uow() as uow:
        events = [(e.event, e.ip_address) for e in await uow.audit.list_for_user(user.id)]
    assert (AuditEvent.REGISTER, "1.2.3.4") in events


async def test_register_rejects_an_email_taken_in_another_case(world: World) -> None:
    await world.send(Register("alice", "alice@example.com", PasswordInput(PASSWORD)))
    with pytest.raises(Conflict, match="Email already registered"):
        await world.send(Register("bob", "ALICE@example.COM", PasswordInput(PASSWORD)))


async def test_register_rejects_a_taken_username(world: World) -> None:
    await world.send(Register("alice", "alice@example.com", PasswordInput(PASSWORD)))
    with pytest.raises(Conflict, match="Username already taken"):
        await world.send(Register("alice", "other@example.com", PasswordInput(PASSWORD)))


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt!", "Password must be at least 8 characters long"),
        ("alllower1!", "Password must contain at least one uppercase letter"),
        ("ALLUPPER1!", "Password must contain at least one lowercase letter"),
        ("NoDigits!!", "Password must contain at least one number"),
        ("NoSpecial12", "Password must contain at least one special character"),
        ("Aa1!" * 33, "Password must be at most 128 characters long"),
    ],
)
async def test_register_names_the_broken_password_rule(world: World, password: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.send(Register("alice", "alice@example.com", PasswordInput(password)))
    assert [(e.field, e.msg) for e in caught.value.errors] == [("password", message)]


async def test_register_reports_every_bad_field_at_once(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.send(Register("a!", "not-an-email", PasswordInput(PASSWORD), "x" * 51))
    assert [e.field for e in caught.value.errors] == ["username", "email", "display_name"]
    async with world.uow() as uow:
        assert len(uow.database.users) == 0


async def test_register_accepts_an_encrypted_password(world: World) -> None:
    user = await world.send(
        Register("alice", "alice@example.com", PasswordInput(world.decryptor.encrypt(PASSWORD), encrypted=True))
    )
    assert await world.hasher.verify(user.user.password_hash, PASSWORD)


async def test_register_refuses_a_password_that_does_not_decrypt(world: World) -> None:
    with pytest.raises(BadRequest, match="Invalid encrypted password"):
        await world.send(Register("alice", "alice@example.com", PasswordInput("garbage", encrypted=True)))


async def test_update_profile_changes_only_the_fields_sent(world: World) -> None:
    user = await world.register()
    principal = await world.principal(user)

    await world.send(UpdateProfile(display_name="Alice", bio="Hi"), principal.actor)
    updated = (await world.send(UpdateProfile(bio=None), principal.actor)).user

    assert (updated.display_name, updated.bio) == ("Alice", None)
    stored = await world.user(user.id)  # type: ignore[arg-type]
    assert stored is not None and (stored.display_name, stored.bio) == ("Alice", None)


async def test_update_profile_validates_lengths(world: World) -> None:
    principal = await world.principal(await world.register())
    with pytest.raises(ValidationFailed) as caught:
        await world.send(UpdateProfile(display_name="x" * 51, bio="y" * 501), principal.actor)
    assert [e.field for e in caught.value.errors] == ["display_name", "bio"]


async def test_profile_picture_replaces_and_removes_the_old_one(world: World) -> None:
    principal = await world.principal(await world.register())

    first = await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), principal.actor)
    first_key = first.user.profile_picture_key
    assert first_key is not None
    view = await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE two")), principal.actor)
    second = view.user
    assert view.picture_url == f"memory://media/{second.profile_picture_key}"  # the answer carries its URL
    assert await world.storage.exists(first_key)  # until a worker delivers its release
    assert await world.deliver() == 1

    assert first_key and second.profile_picture_key and first_key != second.profile_picture_key
    assert not await world.storage.exists(first_key)
    assert await world.storage.exists(second.profile_picture_key)
    assert await world.app.media.url(second.profile_picture_key) == f"memory://media/{second.profile_picture_key}"


async def test_profile_picture_of_unsupported_content_stores_nothing(world: World) -> None:
    principal = await world.principal(await world.register())
    with pytest.raises(UnsupportedMedia):
        await world.send(SetProfilePicture(io.BytesIO(b"plain text")), principal.actor)
    stored = await world.user(principal.user_id)
    assert stored is not None and stored.profile_picture_key is None
    assert world.storage.objects == {}


async def test_promote_makes_an_admin(world: World) -> None:
    user = await world.register()
    await world.send(PromoteUser("alice"), Actor.operator())
    stored = await world.user(user.id)  # type: ignore[arg-type]
    assert stored is not None and stored.is_superuser
    with pytest.raises(NotFound):
        await world.send(PromoteUser("nobody"), Actor.operator())
