"""Property-based tests of the password policy."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from sono.domain.users import PASSWORD_MAX, PASSWORD_MIN, password_problems

UPPER, LOWER, DIGITS, SPECIAL = (
    string.ascii_uppercase,
    string.ascii_lowercase,
    string.digits,
    "!@#$%^&*()-_=+[]{};:,.<>/?~ ",
)


@st.composite
def valid_passwords(draw: st.DrawFn) -> str:
    required = [draw(st.sampled_from(pool)) for pool in (UPPER, LOWER, DIGITS, SPECIAL)]
    filler = draw(
        st.text(alphabet=UPPER + LOWER + DIGITS + SPECIAL, min_size=PASSWORD_MIN - 4, max_size=PASSWORD_MAX - 4)
    )
    chars = required + list(filler)
    return "".join(draw(st.permutations(chars)))


@given(valid_passwords())
def test_every_password_with_all_classes_and_a_good_length_passes(password: str) -> None:
    assert password_problems(password) == []


@given(valid_passwords(), st.sampled_from([UPPER, LOWER, DIGITS, SPECIAL]))
def test_removing_a_character_class_names_that_rule(password: str, pool: str) -> None:
    replacement = {UPPER: "a", LOWER: "A", DIGITS: "a", SPECIAL: "a"}[pool]
    stripped = "".join(replacement if c in pool else c for c in password)
    rule = {
        UPPER: "uppercase letter",
        LOWER: "lowercase letter",
        DIGITS: "number",
        SPECIAL: "special character",
    }[pool]
    assert any(rule in p for p in password_problems(stripped))


@given(st.text(max_size=PASSWORD_MIN - 1))
def test_short_passwords_fail_on_length(password: str) -> None:
    assert "Password must be at least 8 characters long" in password_problems(password)


@given(st.text(min_size=PASSWORD_MAX + 1, max_size=PASSWORD_MAX + 50))
def test_long_passwords_fail_on_length(password: str) -> None:
    assert "Password must be at most 128 characters long" in password_problems(password)


@given(st.text(max_size=200))
def test_the_policy_is_total_and_each_problem_is_a_known_rule(password: str) -> None:
    known = {
        "Password must be at least 8 characters long",
        "Password must be at most 128 characters long",
        "Password must contain at least one uppercase letter",
        "Password must contain at least one lowercase letter",
        "Password must contain at least one number",
        "Password must contain at least one special character",
    }
    problems = password_problems(password)
    assert set(problems) <= known
    assert len(problems) == len(set(problems))
