"""Media adapters: content-based audio identification and image re-encoding."""

from sono.adapters.media.inspector import DEFAULT_MAX_PIXELS, ContentInspector

__all__ = ["DEFAULT_MAX_PIXELS", "ContentInspector"]
