"""The authentication decision table, every combination of ``apiKey``, ``u``, ``p``, ``t``, ``s``
with token authentication on and off, and the checks of presented passwords and tokens."""

from __future__ import annotations

import itertools

import pytest

from sono.entrypoints.subsonic import auth
from sono.entrypoints.subsonic.auth import ApiKey, Password, Token, credentials
from sono.entrypoints.subsonic.errors import ErrorCode, SubsonicError

HELP = "https://sono.example/api/v1/users/me/subsonic-credentials"
SECRET = "Zr3kQ9vB2mX7pL4wT8nY1cF6hJ0sD5gA"  # the shape of an app password: 32 of [A-Za-z0-9]
VALUES = {"apiKey": SECRET, "u": "alice", "p": SECRET, "t": "26719a1196d2a940705a59634eb18eab", "s": "c19b2d"}

# (parameters given) -> (outcome with token auth on, outcome with it off), from the OpenSubsonic
# apiKeyAuthentication rules and the "Precedence and errors".
TABLE: dict[str, tuple[str | int, str | int]] = {
    "": (10, 10),
    "s": (10, 10),
    "t": (10, 10),
    "t s": (10, 10),  # no u
    "p": (10, 10),  # no u
    "p s": (43, 43),
    "p t": (43, 43),
    "p t s": (43, 43),
    "u": (10, 10),
    "u s": (10, 10),
    "u t": (10, 10),
    "u t s": ("token", 41),
    "u p": ("password", "password"),
    "u p s": (43, 43),
    "u p t": (43, 43),
    "u p t s": (43, 43),
    "apiKey": ("apiKey", "apiKey"),
    **{
        " ".join(("apiKey", *others)): (43, 43)
        for n in range(1, 5)
        for others in itertools.combinations(("u", "p", "t", "s"), n)
    },
}


def outcome(params: list[tuple[str, str]], *, token_auth: bool) -> str | int:
    try:
        result = credentials(params, token_auth=token_auth, help_url=HELP)
    except SubsonicError as error:
        return int(error.code)
    return {ApiKey: "apiKey", Password: "password", Token: "token"}[type(result)]


def given(key: str) -> list[tuple[str, str]]:
    return [(name, VALUES[name]) for name in key.split()]


def test_the_table_has_every_combination() -> None:
    combinations = {
        " ".join(name for name in ("apiKey", "u", "p", "t", "s") if name in chosen)
        for n in range(6)
        for chosen in itertools.combinations(("apiKey", "u", "p", "t", "s"), n)
    }
    normalized = {" ".join(sorted(key.split(), key=("apiKey", "u", "p", "t", "s").index)) for key in TABLE}
    assert normalized == combinations
    assert len(TABLE) == 32


@pytest.mark.parametrize("key", list(TABLE))
@pytest.mark.parametrize("token_auth", [True, False])
def test_decision_table(key: str, token_auth: bool) -> None:
    expected = TABLE[key][0 if token_auth else 1]
    assert outcome(given(key), token_auth=token_auth) == expected
    # The order the parameters come in, and unrelated parameters around them, change nothing.
    shuffled = [("v", "1.16.1"), *reversed(given(key)), ("c", "test"), ("id", "tr-1")]
    assert outcome(shuffled, token_auth=token_auth) == expected


def test_what_each_mechanism_presents() -> None:
    assert credentials(given("apiKey"), token_auth=True) == ApiKey(SECRET)
    assert credentials(given("u p"), token_auth=True) == Password("alice", SECRET)
    assert credentials(given("u t s"), token_auth=True) == Token("alice", VALUES["t"], "c19b2d")


@pytest.mark.parametrize("key", ["u", "u t", "p", "t s", ""])
def test_error_10_names_the_missing_parameter(key: str) -> None:
    with pytest.raises(SubsonicError) as refused:
        credentials(given(key), token_auth=True)
    missing = {"u": "p", "u t": "s", "p": "u", "t s": "u", "": "u"}[key]
    assert refused.value.message.endswith(f": {missing}")


def test_41_and_40_point_to_app_passwords_the_others_do_not() -> None:
    with pytest.raises(SubsonicError) as refused:
        credentials(given("u t s"), token_auth=False, help_url=HELP)
    assert (refused.value.code, refused.value.help_url) == (ErrorCode.TOKEN_AUTH_NOT_SUPPORTED, HELP)

    with pytest.raises(SubsonicError) as refused:
        credentials([("u", "alice"), ("p", "enc:zz")], token_auth=True, help_url=HELP)
    assert (refused.value.code, refused.value.help_url) == (ErrorCode.WRONG_CREDENTIALS, HELP)

    for key in ("apiKey u", "u"):
        with pytest.raises(SubsonicError) as refused:
            credentials(given(key), token_auth=True, help_url=HELP)
        assert refused.value.help_url is None


def test_no_error_repeats_a_secret() -> None:
    said = []
    for key, token_auth in itertools.product(TABLE, (True, False)):
        try:
            credentials(given(key), token_auth=token_auth, help_url=HELP)
        except SubsonicError as error:
            said += [error.message, repr(error)]
    assert len(said) > 40
    for secret in (SECRET, VALUES["t"], VALUES["s"]):
        assert not [text for text in said if secret in text]
    for presented in (ApiKey(SECRET), Password("alice", SECRET), Token("alice", VALUES["t"], VALUES["s"])):
        assert SECRET not in repr(presented) and VALUES["t"] not in repr(presented)


def test_a_parameter_sent_empty_counts_as_not_sent() -> None:
    assert outcome([("apiKey", ""), ("u", "alice"), ("p", SECRET)], token_auth=True) == "password"
    assert outcome([("u", "alice"), ("p", SECRET), ("t", ""), ("s", "")], token_auth=True) == "password"
    assert outcome([("u", ""), ("p", SECRET)], token_auth=True) == 10
    assert outcome([("u", "alice"), ("p", "")], token_auth=True) == 10


@pytest.mark.parametrize("name", ["apiKey", "u", "p", "t", "s"])
def test_a_parameter_sent_twice_with_different_values_is_43(name: str) -> None:
    key = "apiKey" if name == "apiKey" else ("u p" if name in ("u", "p") else "u t s")
    params = given(key)
    assert outcome([*params, (name, VALUES[name])], token_auth=True) != 43  # the same value again: one
    assert outcome([*params, (name, VALUES[name] + "x")], token_auth=True) == 43


# --------------------------------------------------------------------------- p and enc:


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        ("sesame", "sesame"),
        ("enc:736573616d65", "sesame"),
        ("enc:736573616D65", "sesame"),  # hex in either case
        ("enc:c3a9t\u00e9", None),
        ("enc:", ""),
        ("enc:c3a9", "\u00e9"),  # the hex of UTF-8 bytes
        ("enc:7", None),  # odd length
        ("enc:zz", None),
        ("enc:73 65", None),  # no spaces inside
        ("enc:ff", None),  # not UTF-8
        ("encore", "encore"),
    ],
)
def test_p_is_clear_or_hex_after_enc(p: str, expected: str | None) -> None:
    assert auth.decoded_password(p) == expected
    if expected is None:
        assert outcome([("u", "alice"), ("p", p)], token_auth=True) == 40
    else:
        assert credentials([("u", "alice"), ("p", p)], token_auth=True) == Password("alice", expected)


def test_password_checks() -> None:
    assert auth.password_matches(SECRET, SECRET)
    assert not auth.password_matches(SECRET[:-1], SECRET)
    assert not auth.password_matches(SECRET.lower(), SECRET)
    assert not auth.password_matches("", SECRET)
    assert not auth.password_matches("pässwörd", SECRET)  # compare_digest refuses non-ASCII str: no TypeError


# --------------------------------------------------------------------------- t = md5(secret + s)


def test_token_is_md5_of_secret_and_salt() -> None:
    # The worked example of the Subsonic API documentation.
    assert auth.token_for("sesame", "c19b2d") == "26719a1196d2a940705a59634eb18eab"
    assert auth.token_matches("26719a1196d2a940705a59634eb18eab", "c19b2d", "sesame")
    assert auth.token_matches("26719A1196D2A940705A59634EB18EAB", "c19b2d", "sesame")


@pytest.mark.parametrize(
    ("token", "salt", "secret"),
    [
        ("26719a1196d2a940705a59634eb18eab", "c19b2e", "sesame"),  # another salt
        ("26719a1196d2a940705a59634eb18eab", "c19b2d", "Sesame"),
        ("26719a1196d2a940705a59634eb18ea", "c19b2d", "sesame"),  # truncated
        ("", "c19b2d", "sesame"),
        ("ü6719a1196d2a940705a59634eb18eab", "c19b2d", "sesame"),  # non-ASCII: refused, no TypeError
    ],
)
def test_a_wrong_token_does_not_match(token: str, salt: str, secret: str) -> None:
    assert not auth.token_matches(token, salt, secret)


def test_matching_secret_finds_the_one_that_matches_after_checking_every_one(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = ["A" * 32, SECRET, "B" * 32]
    compared = []
    real = auth.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)

    assert auth.matching_secret(Password("alice", SECRET), secrets) == 1
    assert len(compared) == 3
    salt = "x1y2z3"
    assert auth.matching_secret(Token("alice", auth.token_for(SECRET, salt), salt), secrets) == 1
    assert auth.matching_secret(Token("alice", auth.token_for("A" * 32, salt), salt), secrets) == 0
    assert len(compared) == 9
    assert auth.matching_secret(Password("alice", "C" * 32), secrets) is None
    assert auth.matching_secret(Password("alice", SECRET), []) is None
