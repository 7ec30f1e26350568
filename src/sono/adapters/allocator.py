"""Giving memory back to the operating system (glibc), so a burst does not leave the process large.

glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which
blocks of that size (a decoded image, an Argon2 hash's 19 MiB) come from the heap of the thread
that asked and stay with the process once freed. ``limit_retained_memory`` fixes the threshold,
so blocks of ``MMAP_THRESHOLD`` bytes and more are always mapped on their own and unmapped when
freed; ``release_memory`` hands the free pages the heaps still keep back to the system
(``malloc_trim``). Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

MMAP_THRESHOLD = 4 * 1024 * 1024
"""Blocks this large or larger are mapped on their own and returned to the system when freed (the
1 MiB chunks media are streamed in stay below it: they are reused, not mapped each time)."""

_M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded: the C library among them
        libc.malloc_trim  # noqa: B018 - glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_retained_memory(threshold: int = MMAP_THRESHOLD) -> bool:
    """Map blocks of ``threshold`` bytes or more on their own (a fixed mmap threshold). Process-wide
    and idempotent; True when applied."""
    libc = _glibc()
    if libc is None:
        return False
    applied = bool(libc.mallopt(ctypes.c_int(_M_MMAP_THRESHOLD), ctypes.c_int(threshold)))
    if not applied:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
    return applied


def release_memory() -> bool:
    """Return the free pages of every heap to the system (``malloc_trim(0)``); True when some were."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(ctypes.c_size_t(0)))
