"""SAQ as the job engine (``SONO_JOB_ENGINE=saq``, Redis), on SQLite and on PostgreSQL: a command's
events queue one delivery job once committed, ``sono worker``'s SAQ worker delivers them, the web
app runs no jobs, and a worker killed mid-delivery leaves its row to another, delivered once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from saq import Queue

from sono.adapters.jobs.saq_engine import QUEUE_NAME, cron_every
from sono.application.bus import MessageBus
from sono.application.delivery.handlers import DeliveryHandlers
from sono.application.events import Outbox
from sono.config import ConfigError, load_settings
from sono.domain.gdpr import AuditFilter
from sono.entrypoints.worker import saq_worker
from tests.delivery import Deliveries
from tests.fakes.security import FakeClock
from tests.fixtures.media import png_bytes
from tests.integration.api.conftest import Api, MakeApi
from tests.integration.saq_support import Ticked, Ticks

pytestmark = pytest.mark.redis

PICTURE = "/api/v1/users/me/upload-profile-picture"


@pytest.fixture
async def saq_api(make_api: MakeApi, redis_clean_url: str) -> Api:
    return await make_api(SONO_JOB_ENGINE="saq", SONO_REDIS_URL=redis_clean_url)


def test_saq_needs_redis(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SONO_JOB_ENGINE=saq needs SONO_REDIS_URL"):
        load_settings({"SONO_DATA_DIR": str(tmp_path), "SONO_JOB_ENGINE": "saq"})
    assert load_settings({"SONO_DATA_DIR": str(tmp_path)}).job_engine == "inprocess"


@pytest.mark.parametrize(
    ("seconds", "cron"), [(1, "* * * * * */1"), (30, "* * * * * */30"), (60, "* * * * *"), (300, "*/5 * * * *")]
)
def test_the_periodic_jobs_schedule(seconds: int, cron: str) -> None:
    assert cron_every(seconds) == cron


async def _queued(api: Api) -> int:
    assert api.settings.redis_url is not None
    queue = Queue.from_url(api.settings.redis_url, name=QUEUE_NAME)
    try:
        return await queue.count("queued")
    finally:
        await queue.disconnect()


async def test_a_committed_event_queues_one_delivery_that_the_saq_worker_runs(saq_api: Api) -> None:
    api = saq_api
    admin = await api.account("root", admin=True)
    ids = []
    for name in ("alice", "bob"):
        account = await api.account(name)
        picture = {"file": (f"{name}.png", png_bytes(), "image/png")}
        uploaded = await api.client.post(PICTURE, headers=account.headers, files=picture)
        assert uploaded.status_code == 200, uploaded.text
        ids.append((await api.client.get("/api/v1/users/me", headers=account.headers)).json()["id"])
    assert await api.deliver() == 0 and await _queued(api) == 0  # nothing released yet
    stored = {key async for key in _keys(api)}
    assert len(stored) == 2

    for user_id in ids:  # two commits with events: one queued job
        response = await api.client.delete(f"/api/v1/admin/users/{user_id}", headers=admin.headers)
        assert response.status_code == 200, response.text
    assert await _queued(api) == 1
    assert {key async for key in _keys(api)} == stored  # not removed inline: the worker does it

    worker = saq_worker(api.container, concurrency=2, burst=True)
    await asyncio.wait_for(worker.start(), timeout=60)

    assert {key async for key in _keys(api)} == set()
    assert (await Deliveries(api.container.bus).stats()).queued == 0
    assert await _queued(api) == 0


async def _keys(api: Api):  # type: ignore[no-untyped-def]
    from tests.integration.api.audio_support import stored_keys

    for key in await stored_keys(api):
        yield key


def test_the_web_app_runs_no_jobs_when_saq_is_the_engine(tmp_path: Path) -> None:
    from sono.entrypoints.http import app as http_app

    env = {"SONO_DATA_DIR": str(tmp_path), "SONO_REDIS_URL": "redis://127.0.0.1:6379/9"}
    assert http_app.runs_jobs(load_settings(env)) is True
    assert http_app.runs_jobs(load_settings(env | {"SONO_JOB_ENGINE": "saq"})) is False
    assert http_app.runs_jobs(load_settings(env | {"SONO_JOBS_ENABLED": "false"})) is False


_STUCK_WORKER = """
import asyncio, sys
from pathlib import Path
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.worker import saq_worker
from tests.integration.saq_support import Ticks

async def main():
    container = await build_container(load_settings())
    container.outbox.register(Ticks(Path(sys.argv[1]), hang=True))
    await saq_worker(container, concurrency=1).start()

asyncio.run(main())
"""


async def test_a_worker_killed_mid_delivery_leaves_the_row_to_another_which_delivers_it_once(
    saq_api: Api, tmp_path: Path
) -> None:
    api = saq_api
    notes = tmp_path / "notes.txt"
    notes.touch()
    api.container.outbox.register(Ticks(notes))
    async with api.uow() as uow:
        await api.container.outbox.publish(uow, Ticked("once"))
        await uow.commit()
    await api.container.ports.job_queue.deliveries_due()

    env = {k: v for k, v in os.environ.items() if not k.startswith("SONO_")} | _settings_env(api)
    env["PYTHONPATH"] = ":".join(sys.path)
    worker = subprocess.Popen([sys.executable, "-c", _STUCK_WORKER, str(notes)], env=env)
    try:
        for _ in range(600):  # until the worker has started the reaction (or 60 s)
            if notes.read_text():
                break
            assert worker.poll() is None, "the worker exited"
            await asyncio.sleep(0.1)
        assert notes.read_text() == "hang once\n"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    # Another worker, once the dead one's lease has run out.
    later = FakeClock(api.container.ports.clock.now() + timedelta(minutes=6))
    outbox = Outbox(later)
    outbox.register(Ticks(notes))
    bus = MessageBus(api.container.ports.uow, outbox=outbox)
    bus.register(DeliveryHandlers(later, outbox))
    done = await Deliveries(bus).run_due(10)

    assert (done.ok, done.total) == (1, 1)
    assert notes.read_text() == "hang once\nrun once\n"  # started twice (at least once) ...
    async with api.container.ports.uow(read_only=True) as uow:
        entries = (await uow.audit.search(AuditFilter(action="tick:once"), skip=0, limit=10)).items
        assert (await uow.outbox.stats()).queued == 0
    assert len(entries) == 1  # ... its database effect once


def _settings_env(api: Api) -> dict[str, str]:
    s = api.settings
    env = {
        "SONO_DATA_DIR": str(s.data_dir),
        "SONO_JOB_ENGINE": "saq",
        "SONO_REDIS_URL": s.redis_url or "",
        "SONO_LOG_LEVEL": "warning",
    }
    if not s.is_sqlite:
        env["SONO_DATABASE_URL"] = s.database_url
    return env
