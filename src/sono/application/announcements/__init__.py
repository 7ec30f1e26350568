"""Announcements published by admins, read by everyone."""
