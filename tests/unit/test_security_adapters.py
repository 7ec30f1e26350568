"""Pure, fast tests of the security adapters (JWT, RSA), the clock, the in-process rate limiter
and the security/store fakes."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sono.adapters.clock import SystemClock
from sono.adapters.security.rsa_keys import RsaPasswordDecryptor, encrypt_password
from sono.adapters.security.tokens import JwtTokenIssuer
from sono.adapters.stores.rate_limit import MemoryRateLimiter
from sono.application.accounts.ports import AccessClaims, RefreshClaims
from sono.domain.errors import BadRequest, NotAuthenticated
from sono.domain.maintenance import MaintenanceState
from tests.fakes.security import FakeClock, FakePasswordHasher
from tests.fakes.stores import FakeMaintenanceStore, FakeRateLimiter

ACCESS_SECRET = "access-secret-" + "a" * 40
REFRESH_SECRET = "refresh-secret-" + "b" * 40

# --------------------------------------------------------------------------- JWT


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _issuer(**kwargs: object) -> JwtTokenIssuer:
    return JwtTokenIssuer(ACCESS_SECRET, REFRESH_SECRET, 1800, 7 * 86400, **kwargs)  # type: ignore[arg-type]


def _access(expires_at: datetime | None = None, **changes: object) -> AccessClaims:
    values: dict[str, object] = {
        "user_id": 42,
        "jti": uuid.uuid4().hex,
        "family_id": str(uuid.uuid4()),
        "token_version": 3,
        "is_superuser": True,
        "expires_at": expires_at or _now() + timedelta(minutes=30),
    }
    values.update(changes)
    return AccessClaims(**values)  # type: ignore[arg-type]


def _refresh(expires_at: datetime | None = None) -> RefreshClaims:
    return RefreshClaims(
        user_id=7,
        jti=uuid.uuid4().hex,
        family_id=str(uuid.uuid4()),
        token_version=0,
        expires_at=expires_at or _now() + timedelta(days=7),
    )


def _raw_payload(claims: AccessClaims, **changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "sub": str(claims.user_id),
        "jti": claims.jti,
        "fam": claims.family_id,
        "ver": claims.token_version,
        "adm": claims.is_superuser,
        "typ": "access",
        "iat": int(time.time()),
        "exp": int(claims.expires_at.timestamp()),
        "iss": "sono",
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def test_access_token_roundtrip() -> None:
    issuer = _issuer()
    claims = _access()
    assert issuer.decode_access(issuer.issue_access(claims)) == claims


def test_refresh_token_roundtrip() -> None:
    issuer = _issuer()
    claims = _refresh()
    assert issuer.decode_refresh(issuer.issue_refresh(claims)) == claims


def test_ttls_are_exposed() -> None:
    issuer = _issuer()
    assert (issuer.access_ttl_seconds, issuer.refresh_ttl_seconds) == (1800, 7 * 86400)


def test_tokens_are_standard_jwts() -> None:
    issuer = _issuer()
    claims = _access()
    decoded = jwt.decode(issuer.issue_access(claims), ACCESS_SECRET, algorithms=["HS256"], issuer="sono")
    assert decoded["sub"] == "42"
    assert decoded["typ"] == "access"
    assert decoded["adm"] is True
    assert jwt.get_unverified_header(issuer.issue_access(claims)) == {"alg": "HS256", "typ": "JWT"}
    # ... and a token made by PyJWT with the same claims is accepted
    assert issuer.decode_access(jwt.encode(_raw_payload(claims), ACCESS_SECRET, algorithm="HS256")) == claims


def test_expired_token_is_rejected() -> None:
    issuer = _issuer()
    token = issuer.issue_access(_access(expires_at=_now() - timedelta(seconds=30)))
    with pytest.raises(NotAuthenticated) as info:
        issuer.decode_access(token)
    assert info.value.detail == "Could not validate credentials"


def test_expiry_follows_the_injected_clock() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    issuer = _issuer(clock=clock)
    token = issuer.issue_refresh(_refresh(expires_at=clock.now() + timedelta(minutes=10)))
    assert issuer.decode_refresh(token).user_id == 7
    clock.advance(10 * 60 + 6)  # past the 5 s leeway
    with pytest.raises(NotAuthenticated):
        issuer.decode_refresh(token)


def test_token_issued_in_the_future_is_rejected() -> None:
    issuer = _issuer()
    payload = _raw_payload(_access(), iat=int(time.time()) + 600)
    with pytest.raises(NotAuthenticated):
        issuer.decode_access(jwt.encode(payload, ACCESS_SECRET, algorithm="HS256"))


def test_tampered_tokens_are_rejected() -> None:
    issuer = _issuer()
    token = issuer.issue_access(_access(is_superuser=False))
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b'"adm":false', b'"adm":true ')
    ).rstrip(b"=")
    tampered = [
        f"{header}.{forged_payload.decode()}.{signature}",
        f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        f"{header}.{payload}.",
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.x",
        token + "=",
        "",
        "not a token",
        "é.é.é",
        "a" * 5000,
    ]
    for bad in tampered:
        with pytest.raises(NotAuthenticated):
            issuer.decode_access(bad)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_other_algorithms_are_rejected() -> None:
    issuer = _issuer()
    payload = _raw_payload(_access())
    unsigned = jwt.encode(payload, None, algorithm="none")  # type: ignore[arg-type]  # "none" takes no key
    hs512 = jwt.encode(payload, ACCESS_SECRET, algorithm="HS512")
    for token in (unsigned, hs512):
        with pytest.raises(NotAuthenticated):
            issuer.decode_access(token)


def test_access_token_is_not_a_refresh_token_and_vice_versa() -> None:
    issuer = _issuer()
    access = issuer.issue_access(_access())
    refresh = issuer.issue_refresh(_refresh())
    with pytest.raises(NotAuthenticated):
        issuer.decode_refresh(access)
    with pytest.raises(NotAuthenticated):
        issuer.decode_access(refresh)


def test_typ_is_checked_even_with_the_right_secret() -> None:
    issuer = _issuer()
    claims = _access()
    refresh_typed = jwt.encode(_raw_payload(claims, typ="refresh"), ACCESS_SECRET, algorithm="HS256")
    access_typed = jwt.encode(_raw_payload(claims, adm=None), REFRESH_SECRET, algorithm="HS256")
    with pytest.raises(NotAuthenticated):
        issuer.decode_access(refresh_typed)
    with pytest.raises(NotAuthenticated):
        issuer.decode_refresh(access_typed)


def test_wrong_secret_and_wrong_issuer_are_rejected() -> None:
    other = JwtTokenIssuer("x" * 48, "y" * 48, 1800, 86400)
    other_iss = JwtTokenIssuer(ACCESS_SECRET, REFRESH_SECRET, 1800, 86400, issuer="elsewhere")
    issuer = _issuer()
    for token in (other.issue_access(_access()), other_iss.issue_access(_access())):
        with pytest.raises(NotAuthenticated):
            issuer.decode_access(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"jti": None},
        {"sub": None},
        {"exp": None},
        {"iat": None},
        {"iss": None},
        {"fam": None},
        {"ver": None},
        {"adm": None},
        {"sub": "not-a-number"},
        {"sub": 42},
        {"sub": "042"},
        {"ver": "3"},
        {"ver": True},
        {"adm": 1},
        {"exp": "soon"},
        {"exp": 10**30},
        {"jti": ""},
    ],
)
def test_missing_or_malformed_claims_are_rejected(changes: dict[str, object]) -> None:
    token = jwt.encode(_raw_payload(_access(), **changes), ACCESS_SECRET, algorithm="HS256")
    with pytest.raises(NotAuthenticated):
        _issuer().decode_access(token)


def test_secrets_must_be_long_and_distinct() -> None:
    with pytest.raises(ValueError, match="differ"):
        JwtTokenIssuer("s" * 40, "s" * 40, 1, 1)
    with pytest.raises(ValueError, match="32 bytes"):
        JwtTokenIssuer("short", "s" * 40, 1, 1)


@settings(max_examples=60)
@given(
    user_id=st.integers(min_value=-(2**63), max_value=2**63),
    version=st.integers(min_value=-(2**31), max_value=2**63),
    jti=st.uuids().map(str),
    family=st.uuids().map(lambda u: u.hex),
    admin=st.booleans(),
    ttl=st.integers(min_value=10, max_value=400 * 86400),
)
def test_claims_roundtrip(user_id: int, version: int, jti: str, family: str, admin: bool, ttl: int) -> None:
    issuer = _issuer()
    expires = _now() + timedelta(seconds=ttl)
    access = AccessClaims(user_id, jti, family, version, admin, expires)
    refresh = RefreshClaims(user_id, jti, family, version, expires)
    assert issuer.decode_access(issuer.issue_access(access)) == access
    assert issuer.decode_refresh(issuer.issue_refresh(refresh)) == refresh


# --------------------------------------------------------------------------- RSA


@pytest.fixture(scope="module")
def decryptor() -> RsaPasswordDecryptor:
    return RsaPasswordDecryptor(rsa.generate_private_key(public_exponent=65537, key_size=4096))


@pytest.fixture(scope="module")
def other_decryptor() -> RsaPasswordDecryptor:
    return RsaPasswordDecryptor(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def test_rsa_roundtrip_and_public_key(decryptor: RsaPasswordDecryptor) -> None:
    assert decryptor.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert len(decryptor.key_id) == 16
    int(decryptor.key_id, 16)
    assert decryptor.max_plaintext_bytes == 446  # the default 4096-bit key: any 128 BMP characters
    assert decryptor.decrypt(encrypt_password(decryptor.public_key_pem, "Str0ng!Passw0rd")) == "Str0ng!Passw0rd"


def test_rsa_key_id_is_stable_and_distinct(
    decryptor: RsaPasswordDecryptor, other_decryptor: RsaPasswordDecryptor
) -> None:
    assert decryptor.key_id != other_decryptor.key_id
    same = RsaPasswordDecryptor(decryptor._key)
    assert same.key_id == decryptor.key_id


def test_rsa_tolerates_base64_variants(decryptor: RsaPasswordDecryptor) -> None:
    standard = encrypt_password(decryptor.public_key_pem, "héllo wörld")
    urlsafe = standard.replace("+", "-").replace("/", "_")
    wrapped = "\n".join(standard[i : i + 64] for i in range(0, len(standard), 64))
    for variant in (standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("="), f"  {standard}\n", wrapped):
        assert decryptor.decrypt(variant) == "héllo wörld"


def test_rsa_rejects_garbage(decryptor: RsaPasswordDecryptor, other_decryptor: RsaPasswordDecryptor) -> None:
    good = encrypt_password(decryptor.public_key_pem, "secret")
    raw = base64.b64decode(good)
    public = decryptor._key.public_key()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    not_utf8 = base64.b64encode(
        public.encrypt(
            b"\xff\xfe\xfd",
            padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
    ).decode()
    sha1_oaep = base64.b64encode(
        public.encrypt(b"secret", padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    ).decode()
    bad_inputs = [
        "",
        "   ",
        "!!!not base64!!!",
        "aGVsbG8=",  # valid base64, wrong length
        base64.b64encode(raw[:-1]).decode(),
        base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode(),
        encrypt_password(other_decryptor.public_key_pem, "secret"),
        not_utf8,
        sha1_oaep,
        good[:-5] + "*" + good[-4:],
        "A" * 100_000,
    ]
    for bad in bad_inputs:
        with pytest.raises(BadRequest) as info:
            decryptor.decrypt(bad)
        assert info.value.detail == "Invalid encrypted password"


def test_rsa_long_non_ascii_password(decryptor: RsaPasswordDecryptor) -> None:
    for password in ("Ж" * 128, "語" * 128):  # the policy's maximum length: 256 and 384 UTF-8 bytes
        assert decryptor.decrypt(encrypt_password(decryptor.public_key_pem, password)) == password
    with pytest.raises(ValueError, match="too long"):  # beyond what RSA-OAEP-256 can carry with this key
        encrypt_password(decryptor.public_key_pem, "🎵" * 128)  # 512 bytes


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(max_size=128))
def test_rsa_any_password_roundtrips(decryptor: RsaPasswordDecryptor, password: str) -> None:
    assume(len(password.encode("utf-8")) <= decryptor.max_plaintext_bytes)
    assert decryptor.decrypt(encrypt_password(decryptor.public_key_pem, password)) == password


def test_rsa_refuses_small_keys() -> None:
    with pytest.raises(ValueError, match="2048"):
        RsaPasswordDecryptor(rsa.generate_private_key(public_exponent=65537, key_size=1024))


# --------------------------------------------------------------------------- clock


async def test_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SystemClock()
    before = datetime.now(UTC).replace(microsecond=0)
    now = clock.now()
    after = datetime.now(UTC)
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.microsecond == 0
    assert before <= now <= after  # the real time, in whole seconds (no duration compared)
    first = clock.monotonic()
    assert first <= clock.monotonic() <= time.monotonic()

    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("sono.adapters.clock.asyncio", SimpleNamespace(sleep=fake_sleep))
    await clock.sleep(0.01)
    assert slept == [0.01]  # sleeps on the event loop, for as long as asked


async def test_fake_clock() -> None:
    start = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    clock = FakeClock(start)
    assert clock.now() == start.replace(microsecond=0)
    mono = clock.monotonic()
    await clock.sleep(2.5)
    clock.advance(60)
    assert clock.slept == [2.5]
    assert clock.monotonic() == mono + 62.5
    assert clock.now() == datetime(2026, 1, 1, 12, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2026, 1, 1))  # naive


# --------------------------------------------------------------------------- fakes


async def test_fake_password_hasher() -> None:
    hasher = FakePasswordHasher()
    hashed = await hasher.hash("pw")
    assert hashed.startswith("fake$")
    assert await hasher.verify(hashed, "pw")
    assert not await hasher.verify(hashed, "other")
    assert not await hasher.verify("garbage", "pw")
    assert not hasher.needs_rehash(hashed)
    legacy = FakePasswordHasher.legacy_hash("pw")
    assert await hasher.verify(legacy, "pw")
    assert hasher.needs_rehash(legacy)
    await hasher.verify_dummy("pw")
    assert (hasher.hash_calls, hasher.verify_calls, hasher.dummy_calls) == (1, 4, 1)


async def test_fake_rate_limiter() -> None:
    limiter = FakeRateLimiter(limits={"login": 1}, retry_after=7)
    assert await limiter.hit("login", "ip", 5, 60) is None
    assert await limiter.hit("login", "ip", 5, 60) == 7
    assert await limiter.hit("register", "ip", 2, 60) is None
    assert await limiter.hit("register", "ip", 2, 60) is None
    assert await limiter.hit("register", "ip", 2, 60) == 7
    await limiter.reset()
    assert await limiter.hit("login", "ip", 5, 60) is None
    assert len(limiter.calls) == 6
    disabled = FakeRateLimiter(enabled=False)
    assert [await disabled.hit("s", "k", 1, 60) for _ in range(3)] == [None, None, None]
    checked = FakeRateLimiter()
    assert await checked.peek("s", "k", 1, 60) is None and checked.counts == {}
    await checked.hit("s", "k", 1, 60)
    assert await checked.peek("s", "k", 1, 60) == 60


async def test_fake_maintenance_store() -> None:
    store = FakeMaintenanceStore()
    assert await store.get() == MaintenanceState()
    await store.set(MaintenanceState(enabled=True, message="back soon"))
    assert (await store.get()).message == "back soon"
    assert (store.get_calls, store.set_calls) == (2, 1)


# --------------------------------------------------------------------------- in-process rate limiter


class _Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_memory_rate_limiter_moving_window() -> None:
    ticker = _Ticker()
    limiter = MemoryRateLimiter(monotonic=ticker)
    assert [await limiter.hit("login", "1.2.3.4", 3, 60) for _ in range(3)] == [None, None, None]
    ticker.now += 20
    assert await limiter.hit("login", "1.2.3.4", 3, 60) == 40  # the first hit leaves the window at +60
    assert await limiter.hit("login", "5.6.7.8", 3, 60) is None
    assert await limiter.hit("register", "1.2.3.4", 3, 60) is None
    ticker.now += 39.5
    assert await limiter.hit("login", "1.2.3.4", 3, 60) == 1  # never below 1
    ticker.now += 0.5
    assert await limiter.hit("login", "1.2.3.4", 3, 60) is None
    await limiter.reset()
    assert [await limiter.hit("login", "1.2.3.4", 3, 60) for _ in range(3)] == [None, None, None]


async def test_memory_rate_limiter_sweeps_idle_windows() -> None:
    ticker = _Ticker()
    limiter = MemoryRateLimiter(monotonic=ticker, sweep_interval=10)
    for i in range(100):
        await limiter.hit("login", f"10.0.0.{i}", 5, 5)
    assert len(limiter._windows) == 100
    ticker.now += 11
    await limiter.hit("login", "10.0.1.1", 5, 5)
    assert len(limiter._windows) == 1


async def test_memory_rate_limiter_zero_limit() -> None:
    assert await MemoryRateLimiter().hit("s", "k", 0, 30) == 30
    assert await MemoryRateLimiter().peek("s", "k", 0, 30) == 30
