"""Subsonic app passwords: create, list and revoke them, and authenticate a player with one."""
