"""Persistence on SQLite or PostgreSQL through sqlmodel tables."""

from ose_mesh.adapters.db.repository import SqlRepository

__all__ = ["SqlRepository"]
