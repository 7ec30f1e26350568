"""The library at ``/api/v1/library`` and the search at ``/api/v1/search``."""
