"""Alembic migrations of the database schema; the server applies them at startup."""
