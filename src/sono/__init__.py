"""Sono: the backend of a music sharing platform."""

__version__ = "0.1.0"
