"""Accounts as players see them (see ``messages``)."""

from __future__ import annotations

from sono.application.bus import Context, handles
from sono.application.players.messages import (
    ACCOUNT_NOT_FOUND,
    OTHER_ACCOUNT,
    GetAccount,
    GetOwnAccount,
    GetProfilePicture,
)
from sono.application.values import CALLER_GONE
from sono.domain.errors import NotFound, PermissionDenied, SessionEnded
from sono.domain.users import User


class PlayerHandlers:
    @handles(GetOwnAccount)
    async def own(self, query: GetOwnAccount, ctx: Context) -> User:
        user = await ctx.uow.users.get(ctx.actor.id)
        if user is None or not user.is_active:
            raise SessionEnded(CALLER_GONE)
        return user

    @handles(GetAccount)
    async def account(self, query: GetAccount, ctx: Context) -> User:
        own = await self.own(GetOwnAccount(), ctx)
        if query.username == own.username:
            return own
        if not ctx.actor.is_admin:
            raise PermissionDenied(OTHER_ACCOUNT)
        user = await ctx.uow.users.get_by_username(query.username)
        if user is None:
            raise NotFound(ACCOUNT_NOT_FOUND)
        return user

    @handles(GetProfilePicture)
    async def picture(self, query: GetProfilePicture, ctx: Context) -> str | None:
        user = await ctx.uow.users.get_by_username(query.username)
        if user is None or not user.is_active:
            raise NotFound(ACCOUNT_NOT_FOUND)
        return user.profile_picture_key
