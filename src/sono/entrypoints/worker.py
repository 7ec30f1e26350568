"""The worker loop: deliver the outbox's due reactions continuously and run the periodic jobs
(what ``sono jobs run-due`` does) every ``SONO_JOBS_INTERVAL_SECONDS``.

``sono worker`` runs it as its own process (stopping cleanly on SIGTERM/SIGINT: the row in hand is
finished, nothing new is claimed); ``sono serve`` runs the same loop in-process when
``SONO_JOBS_ENABLED`` (the default, so that the embedded defaults need no worker). Any number of
workers may run at once: each row is claimed with a lease (``EventDelivery``), and the jobs are
idempotent and safe to run anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sono.entrypoints.logs import bound_run

if TYPE_CHECKING:
    from sono.bootstrap import Container

log = logging.getLogger("sono.worker")


class Worker:
    def __init__(
        self,
        container: Container,
        *,
        concurrency: int = 1,
        poll_seconds: float = 1.0,
        jobs_interval_seconds: float = 60.0,
        run_jobs: bool = True,
        heartbeat: Path | None = None,
    ) -> None:
        self._container = container
        self._concurrency = max(1, concurrency)
        self._poll = max(0.01, poll_seconds)
        self._jobs_interval = jobs_interval_seconds
        self._run_jobs = run_jobs
        self._heartbeat = heartbeat
        self._stopping = asyncio.Event()
        self.delivered = 0

    def stop(self) -> None:
        """Finish what is in hand, claim nothing more, and let ``run`` return."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        loops = [self._deliver_loop() for _ in range(self._concurrency)]
        if self._run_jobs:
            loops.append(self._jobs_loop())
        tasks = [asyncio.create_task(loop) for loop in loops]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _deliver_loop(self) -> None:
        delivery = self._container.delivery
        while not self.stopping:
            try:
                entries = await delivery.claim(1)
            except Exception:
                log.exception("could not claim outbox rows")
                entries = []
            for entry in entries:  # once claimed, finished even when asked to stop
                with bound_run(f"event {entry.event} {entry.reaction}"):
                    try:
                        outcome = await asyncio.shield(delivery.run(entry))
                        log.debug("%s for %s: %s", entry.reaction, entry.event, outcome)
                    except Exception:  # e.g. the database went away: the lease runs out, it is tried again
                        log.exception("could not deliver %s for %s", entry.reaction, entry.event)
                self.delivered += 1
            if not entries:
                await self._wait(self._poll)

    async def _jobs_loop(self) -> None:
        while not self.stopping:
            with bound_run("jobs run-due"):
                try:
                    report = await self._container.jobs.run_due()
                    log.debug("periodic jobs: %s", report)
                    self._beat()
                except Exception:
                    log.exception("periodic jobs failed")
                await self._report_outbox()
            await self._sleep_or_stop(self._jobs_interval)

    def _beat(self) -> None:
        """Touch the heartbeat file (a container's healthcheck reads its age)."""
        if self._heartbeat is not None:
            try:
                self._heartbeat.touch()
            except OSError:
                log.warning("could not touch %s", self._heartbeat, exc_info=True)

    async def _report_outbox(self) -> None:
        metrics = self._container.ports.metrics
        if not metrics.enabled:
            return
        try:
            stats = await self._container.delivery.stats()
        except Exception:
            log.warning("could not read the outbox's state", exc_info=True)
            return
        now = self._container.ports.clock.now()
        age = max(0.0, (now - stats.oldest_due_at).total_seconds()) if stats.oldest_due_at else 0.0
        metrics.outbox_state(stats.queued, stats.failed, age)

    async def _sleep_or_stop(self, seconds: float) -> None:
        """The interval between job runs, on the container's clock (tests step it), cut short by
        ``stop``."""
        sleeping = asyncio.ensure_future(self._container.ports.clock.sleep(seconds))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeping, stopping):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
