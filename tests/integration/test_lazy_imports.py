"""A process on embedded defaults loads only what its configuration uses: no S3 client library on
local storage, no image or tag library until a file arrives, no Redis client without Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_PROGRAM = """
import asyncio, json, sys

from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app


async def main():
    settings = load_settings({"SONO_DATA_DIR": sys.argv[1], "SONO_JOBS_ENABLED": "false"})
    container = await build_container(settings)
    try:
        create_app(settings, container=container)
    finally:
        await container.aclose()


asyncio.run(main())
print(json.dumps(sorted(sys.modules)))
"""

_NOT_ON_DEFAULTS = ("boto3", "botocore", "aioboto3", "aiobotocore", "PIL", "mutagen", "redis")


def _modules_after_start(tmp_path: Path, **env: str) -> set[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SONO_")}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, sys.path))  # the code this test run imports
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(tmp_path / "data")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _top_level(modules: set[str]) -> set[str]:
    return {name.split(".", 1)[0] for name in modules}


def test_embedded_defaults_import_no_storage_image_tag_or_redis_library(tmp_path: Path) -> None:
    loaded = _top_level(_modules_after_start(tmp_path))
    assert "sono" in loaded and "litestar" in loaded, "the program did build the app"
    assert not loaded & set(_NOT_ON_DEFAULTS)


@pytest.mark.parametrize("module", ["sono.adapters.media", "sono.adapters.media.inspector", "sono.bootstrap"])
def test_importing_the_media_adapters_loads_no_decoder(module: str) -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}
    program = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", program], env=environment, capture_output=True, text=True, timeout=60, check=True
    )
    assert not _top_level(set(json.loads(done.stdout))) & {"PIL", "mutagen", "boto3", "botocore", "aioboto3"}
