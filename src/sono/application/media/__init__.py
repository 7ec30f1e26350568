"""Stored media: object storage, signed URLs, content inspection, and who may fetch what."""
