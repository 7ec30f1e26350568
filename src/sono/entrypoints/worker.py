"""The workers: deliver the outbox's due reactions and run the periodic jobs (what ``sono jobs
run-due`` does) every ``SONO_JOBS_INTERVAL_SECONDS``.

Two engines run the same work:

- ``Worker``, a small in-process loop, for the embedded defaults (``SONO_JOB_ENGINE=inprocess``,
  the default): ``sono serve`` runs it inside the web process when ``SONO_JOBS_ENABLED`` (so that
  one process does everything), and ``sono worker`` can run it on its own.
- ``saq_worker``, SAQ on Redis (``SONO_JOB_ENGINE=saq``), for production: only ``sono worker``
  runs jobs, the web processes queue a delivery job when they commit events
  (``sono.adapters.jobs.saq_engine``), and SAQ's scheduler runs the safety net and the periodic jobs
  once per tick across all workers.

Either way a worker stops cleanly on SIGTERM/SIGINT (the row in hand is finished, nothing new is
claimed), and any number may run at once: each row is claimed with a lease (``ClaimDeliveries``),
the jobs are idempotent, and a worker killed mid-delivery leaves its row to be claimed again when
the lease ends, its database effects never committed twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sono.application.delivery.messages import ClaimDeliveries, DeliverEvent, DeliveryStats
from sono.application.events import delivery_span
from sono.application.jobs import JobReport, RunDueJobs
from sono.application.messages import Actor
from sono.entrypoints.logs import bound_run

if TYPE_CHECKING:
    from saq import Worker as SaqWorker

    from sono.application.bus import MessageBus
    from sono.application.events import OutboxEntry
    from sono.application.tracing import Tracer
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
        bus = self._container.bus
        while not self.stopping:
            try:
                entries = await bus(ClaimDeliveries(1), Actor.worker())
            except Exception:
                log.exception("could not claim outbox rows")
                entries = []
            for entry in entries:  # once claimed, finished even when asked to stop
                await _deliver(self._container, entry)
                self.delivered += 1
            if not entries:
                await self._wait(self._poll)

    async def _jobs_loop(self) -> None:
        while not self.stopping:
            with bound_run("jobs run-due"):
                try:
                    report = await run_due_jobs(self._container)
                    log.debug("periodic jobs: %s", report)
                    self._beat()
                except Exception:
                    log.exception("periodic jobs failed")
                await self._report_outbox()
            await self._sleep_or_stop(self._jobs_interval)

    def _beat(self) -> None:
        beat(self._heartbeat)

    async def _report_outbox(self) -> None:
        await report_outbox(self._container)

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


def beat(heartbeat: Path | None) -> None:
    """Touch the heartbeat file (a container's healthcheck reads its age)."""
    if heartbeat is not None:
        try:
            heartbeat.touch()
        except OSError:
            log.warning("could not touch %s", heartbeat, exc_info=True)


async def run_due_jobs(container: Container) -> JobReport:
    """The periodic jobs, through the bus on the system's behalf."""
    report: JobReport = await container.bus(RunDueJobs(), Actor.worker())
    return report


async def deliver(bus: MessageBus, tracer: Tracer, entry: OutboxEntry) -> str:
    """Deliver a claimed row through the bus, in the trace of the change that recorded its event:
    "ok", "retry", "failed" or "lost"."""
    with delivery_span(tracer, entry):
        outcome: str = await bus(DeliverEvent(entry), Actor.worker())
        return outcome


async def report_outbox(container: Container) -> None:
    metrics = container.ports.metrics
    if not metrics.enabled:
        return
    try:
        stats = await container.bus(DeliveryStats(), Actor.worker())
    except Exception:
        log.warning("could not read the outbox's state", exc_info=True)
        return
    now = container.ports.clock.now()
    age = max(0.0, (now - stats.oldest_due_at).total_seconds()) if stats.oldest_due_at else 0.0
    metrics.outbox_state(stats.queued, stats.failed, age)


# ---------------------------------------------------------------------- SAQ


def saq_worker(
    container: Container, *, concurrency: int = 4, heartbeat: Path | None = None, burst: bool = False
) -> SaqWorker:
    """The SAQ worker ``sono worker`` runs when ``SONO_JOB_ENGINE=saq``: ``deliver_due`` (the due
    outbox rows, ``concurrency`` at a time, until none is due; queued by the web processes and every
    few seconds by the schedule) and ``periodic`` (the periodic jobs, on a cron schedule).
    ``burst``: stop once the queue is empty (tests)."""
    from saq import CronJob
    from saq import Worker as Saq

    from sono.adapters.jobs.saq_engine import (
        DELIVER,
        DELIVERY_SAFETY_NET,
        JOB_TIMEOUT_SECONDS,
        PERIODIC,
        cron_every,
        queue_for,
    )

    assert container.settings.redis_url is not None, "SONO_JOB_ENGINE=saq needs SONO_REDIS_URL"
    concurrency = max(1, concurrency)

    async def deliver_due(ctx: dict[str, Any]) -> int:
        delivered = 0
        while entries := await container.bus(ClaimDeliveries(concurrency), Actor.worker()):
            await asyncio.gather(*(_deliver(container, entry) for entry in entries))
            delivered += len(entries)
        return delivered

    async def periodic(ctx: dict[str, Any]) -> str:
        with bound_run("jobs run-due"):
            report = await run_due_jobs(container)
            log.debug("periodic jobs: %s", report)
            beat(heartbeat)
        await report_outbox(container)
        return repr(report)

    deliver_due.__qualname__ = DELIVER  # SAQ names jobs after their function: the web side queues this name
    periodic.__qualname__ = PERIODIC
    interval = cron_every(container.settings.jobs_interval_seconds)
    return Saq(
        queue_for(container.settings.redis_url),
        functions=[deliver_due, periodic],
        concurrency=concurrency + 1,  # the deliveries, and the periodic jobs beside them
        cron_jobs=[
            CronJob(deliver_due, cron=DELIVERY_SAFETY_NET, timeout=JOB_TIMEOUT_SECONDS),
            CronJob(periodic, cron=interval, timeout=JOB_TIMEOUT_SECONDS),
        ],
        burst=burst,
        dequeue_timeout=1.0 if burst else 0.0,  # burst: stop after a second with nothing queued
        shutdown_grace_period_s=None if burst else 30,  # SIGTERM: the jobs in hand may finish
    )


async def _deliver(container: Container, entry: OutboxEntry) -> str:
    with bound_run(f"event {entry.event} {entry.reaction}"):
        try:  # once claimed, a row is finished even if the worker is asked to stop meanwhile
            outcome = await asyncio.shield(deliver(container.bus, container.ports.tracer, entry))
            log.debug("%s for %s: %s", entry.reaction, entry.event, outcome)
            return outcome
        except Exception:  # e.g. the database went away: the lease runs out, it is tried again
            log.exception("could not deliver %s for %s", entry.reaction, entry.event)
            return "error"
