"""Re-encrypting every sealed app password under a new key (``sono subsonic rotate-key``)."""

from __future__ import annotations

from dataclasses import dataclass

from sono.application.app_passwords.ports import SecretSealer
from sono.application.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Resealed:
    resealed: int
    unreadable: int  # sealed under a key neither given opens: left as they are (token auth fails for them)


async def reseal(uow: UnitOfWorkFactory, opener: SecretSealer, sealer: SecretSealer) -> Resealed:
    """Open every sealed secret with ``opener`` and seal it again with ``sealer``, in one unit of
    work (all or nothing). The lookups do not change: they do not depend on this key."""
    resealed = unreadable = 0
    async with uow() as work:
        for credential in await work.app_passwords.sealed():
            assert credential.sealed_secret is not None
            secret = opener.open(credential.sealed_secret)
            if secret is None:
                unreadable += 1
                continue
            credential.sealed_secret = sealer.seal(secret)
            resealed += 1
        await work.commit()
    return Resealed(resealed, unreadable)
