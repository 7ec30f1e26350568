"""Metrics adapters: ``PrometheusMetrics`` implements the ``Metrics`` port."""
