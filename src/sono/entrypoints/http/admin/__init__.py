"""Administration of users: ``/api/v1/admin`` (and the admin list at ``GET /api/v1/users/``)."""
