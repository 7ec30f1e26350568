"""The ``ChartPageSource`` port: a page from an http(s) URL (the standard library's urllib, with a
timeout and a size bound, off the event loop) or from a file."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from sono import __version__
from sono.domain.charts import ChartImportFailed

PAGE_MAX_BYTES = 32 * 1024 * 1024
USER_AGENT = f"sono/{__version__} (kworb import)"


class UrlOrFilePageSource:
    def __init__(self, *, timeout: float = 30.0, max_bytes: int = PAGE_MAX_BYTES) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def read(self, location: str) -> str:
        return await asyncio.to_thread(self._read, location)

    def _read(self, location: str) -> str:
        scheme = urlsplit(location).scheme.lower()
        if scheme in ("http", "https"):
            data, charset = self._fetch(location)
        else:
            path = Path(url2pathname(urlsplit(location).path) if scheme == "file" else location).expanduser()
            try:
                with path.open("rb") as file:
                    data = file.read(self.max_bytes + 1)
            except OSError as exc:
                raise ChartImportFailed(f"{location}: cannot read the file ({exc.strerror or exc})") from exc
            charset = None
        if len(data) > self.max_bytes:
            raise ChartImportFailed(f"{location}: larger than {self.max_bytes // (1024 * 1024)} MB")
        try:
            return data.decode(charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return data.decode("utf-8", errors="replace")

    def _fetch(self, url: str) -> tuple[bytes, str | None]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html"})  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                return response.read(self.max_bytes + 1), response.headers.get_content_charset()
        except urllib.error.HTTPError as exc:
            raise ChartImportFailed(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ChartImportFailed(f"{url}: cannot fetch the page ({reason})") from exc
