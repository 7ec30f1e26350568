"""Maintenance mode: a shared switch that turns away everyone but admins."""
