"""Stars and plays in the JSON API: ``/api/v1/audio/{id}/star`` and ``/api/v1/audio/{id}/plays``."""
