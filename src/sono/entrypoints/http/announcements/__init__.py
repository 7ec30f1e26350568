"""Announcements: public reads at ``/api/v1/announcements``, admin CRUD at ``/api/v1/admin/announcements``."""
