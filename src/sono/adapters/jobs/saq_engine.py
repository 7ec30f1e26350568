"""SAQ (Simple Async Queue: asyncio, Redis) as Sono's job engine, when ``SONO_JOB_ENGINE=saq``.

The outbox stays the one record of what must happen (written in the same commit as the change,
claimed with a lease, retried with backoff, failures kept for ``sono jobs``); SAQ runs the work
(``sono.entrypoints.worker.saq_worker``). This module is the queue's side the rest of Sono sees:

- ``SaqJobQueue``: the core's ``JobQueue`` port for the web processes. After a command's events are
  committed it queues one ``deliver_due`` job; a job already queued under the same key absorbs the
  request, so a burst of commits is one job.
- ``cron_every``: the schedule of the periodic jobs from ``SONO_JOBS_INTERVAL_SECONDS``.
"""

from __future__ import annotations

import logging

from saq import Job, Queue

log = logging.getLogger("sono.jobs")

QUEUE_NAME = "sono"
DELIVER = "deliver_due"
PERIODIC = "periodic"
DELIVER_KEY = "sono:deliver-due"
DELIVERY_SAFETY_NET = "* * * * * */5"  # every 5 seconds (croniter's sixth field is the second)
JOB_TIMEOUT_SECONDS = 600


def queue_for(redis_url: str) -> Queue:
    return Queue.from_url(redis_url, name=QUEUE_NAME)


class SaqJobQueue:
    def __init__(self, redis_url: str) -> None:
        self.queue = queue_for(redis_url)

    async def deliveries_due(self) -> None:
        try:
            await self.queue.enqueue(Job(DELIVER, key=DELIVER_KEY, timeout=JOB_TIMEOUT_SECONDS))
        except Exception:  # the workers' schedule delivers them a few seconds later
            log.warning("could not queue a delivery job", exc_info=True)

    async def close(self) -> None:
        await self.queue.disconnect()


def cron_every(seconds: int) -> str:
    """A cron expression running about every ``seconds`` (whole minutes from 60 on)."""
    if seconds < 60:
        return f"* * * * * */{max(1, seconds)}"
    minutes = max(1, round(seconds / 60))
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
