"""Accounts: registration and profiles, sessions (login, refresh, logout), password reset."""
