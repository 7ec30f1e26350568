"""Property-based test of the session lifecycle: whatever the order of refreshes, replays and
logouts, exactly the tokens the rules allow keep working."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sono.adapters.memory.security import FakeClock
from sono.application.auth import TokenPair
from sono.application.common import PasswordInput
from sono.domain.errors import NotAuthenticated
from tests.unit.conftest import PASSWORD, World, make_world


class SessionMachine(RuleBasedStateMachine):
    """Model: each session (family) is alive or dead; a live one has one current refresh token and
    any number of spent ones; presenting a spent one kills the family."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sessions: list[dict] = []

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    @initialize()
    def setup(self) -> None:
        self.world: World = make_world(FakeClock(datetime(2026, 1, 1, tzinfo=UTC)))
        self.run(self.world.register())

    def _alive(self) -> list[dict]:
        return [s for s in self.sessions if s["alive"]]

    @rule()
    def login(self) -> None:
        pair: TokenPair = self.run(self.world.app.auth.login("alice", PasswordInput(PASSWORD)))
        self.sessions.append({"alive": True, "current": pair, "spent": []})

    @precondition(lambda self: bool(self._alive()))
    @rule(data=st.data())
    def refresh_current(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from(self._alive()))
        pair = self.run(self.world.app.auth.refresh(session["current"].refresh_token))
        session["spent"].append(session["current"])
        session["current"] = pair

    @precondition(lambda self: any(s["spent"] for s in self.sessions))
    @rule(data=st.data())
    def replay_spent(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from([s for s in self.sessions if s["spent"]]))
        spent = data.draw(st.sampled_from(session["spent"]))
        with pytest.raises(NotAuthenticated):
            self.run(self.world.app.auth.refresh(spent.refresh_token))
        session["alive"] = False

    @precondition(lambda self: bool(self._alive()))
    @rule(data=st.data())
    def logout(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from(self._alive()))
        principal = self.run(self.world.app.auth.authenticate(session["current"].access_token))
        self.run(self.world.app.auth.logout(principal, session["current"].refresh_token))
        session["alive"] = False
        session["logged_out"] = True

    @invariant()
    def access_tokens_follow_the_model(self) -> None:
        for session in self.sessions:
            token = session["current"].access_token
            if session.get("logged_out"):
                with pytest.raises(NotAuthenticated):
                    self.run(self.world.app.auth.authenticate(token))
            else:  # a replay ends the refresh family; its last access token lives until it expires
                assert self.run(self.world.app.auth.authenticate(token)).user.username == "alice"

    def teardown(self) -> None:
        # Dead families refuse even their newest refresh token; live ones accept it.
        for session in self.sessions:
            if not session["alive"]:
                with pytest.raises(NotAuthenticated):
                    self.run(self.world.app.auth.refresh(session["current"].refresh_token))
        self.loop.close()


TestSessionLifecycle = SessionMachine.TestCase
TestSessionLifecycle.settings = settings(
    max_examples=30, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
