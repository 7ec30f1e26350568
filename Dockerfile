# syntax=docker/dockerfile:1
# Sono API image: `docker compose up` runs it with PostgreSQL, Redis, MinIO and Mailpit.
#
# Reproducible: the base image is pinned to a full Python version and every dependency is installed
# from requirements.lock, exact versions with their hashes (pip refuses anything else), then Sono
# itself without resolving anything. Regenerate the lock after changing the dependencies in
# pyproject.toml (the command is at the top of requirements.lock).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/sono
WORKDIR /src
COPY requirements.lock ./
RUN /opt/sono/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE CHANGELOG.md ./
COPY src ./src
COPY migrations ./migrations
RUN /opt/sono/bin/pip install --no-deps --no-build-isolation . \
    && /opt/sono/bin/pip check

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/sono/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SONO_DATA_DIR=/var/lib/sono
RUN groupadd --system --gid 10001 sono \
    && useradd --system --uid 10001 --gid sono --home-dir /var/lib/sono --shell /usr/sbin/nologin sono \
    && install -d -o sono -g sono -m 0700 /var/lib/sono
COPY --from=build /opt/sono /opt/sono
USER sono
WORKDIR /var/lib/sono
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["sono", "serve", "--host", "0.0.0.0", "--port", "8000"]
