"""Persistence: SQLite schema, the writer, and every SQL statement the engine runs."""

from sweatpants.store.db import Store

__all__ = ["Store"]
