"""SQL for `module_settings`: the settings stored once per module, one row per key.

Values are JSON text as the engine hands them over (a secret's already sealed); this file
never looks inside them. Reads return plain `{key: JSON text}` dicts, never `sqlite3.Row`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping


def get(conn: sqlite3.Connection, module_id: str) -> dict[str, str]:
    """The module's stored settings, `{key: JSON text}`, in key order (empty when none)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(
        "SELECT key, value FROM module_settings WHERE module_id = ? ORDER BY key", (module_id,)
    ).fetchall()
    return {key: value for key, value in rows}


def change(
    conn: sqlite3.Connection,
    module_id: str,
    *,
    put: Mapping[str, str],
    remove: Iterable[str],
    now: float,
) -> dict[str, str]:
    """Set the keys of `put` (JSON text each), delete those of `remove`, in the caller's
    transaction; returns the module's settings as they now stand."""
    conn.executemany(
        "DELETE FROM module_settings WHERE module_id = ? AND key = ?",
        [(module_id, key) for key in remove],
    )
    conn.executemany(
        """INSERT INTO module_settings (module_id, key, value, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (module_id, key) DO UPDATE SET value = excluded.value,
                                                     updated_at = excluded.updated_at""",
        [(module_id, key, value, now) for key, value in put.items()],
    )
    return get(conn, module_id)
