"""Kworb's Spotify charts: ``/api/v1/kworb``."""

from sono.entrypoints.http.charts.controller import ChartsController

__all__ = ["ChartsController"]
