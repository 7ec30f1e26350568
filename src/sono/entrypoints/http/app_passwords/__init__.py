"""Subsonic app passwords: ``/api/v1/users/me/subsonic-credentials`` for their owner and
``/api/v1/admin/users/{user_id}/subsonic-credentials`` for admins."""
