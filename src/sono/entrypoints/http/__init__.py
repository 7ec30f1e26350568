"""The HTTP API (Litestar). ``app.create_app`` builds it; ``app.app_from_env`` is the uvicorn factory."""
