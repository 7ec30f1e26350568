"""Audio files: upload, metadata, playback and download, quotas."""
