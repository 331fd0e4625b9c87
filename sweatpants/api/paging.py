"""Page sizes: a `limit` above the daemon's cap is served a page at a time, never refused.

The earlier engine accepted any `limit`, and its clients still ask for 50,000 log lines at
once. One answer that large would hold a whole job in memory, so each list endpoint has a cap:
a bigger `limit` gets the first page at the cap, with `next_cursor` to fetch the rest. A
`limit` that is not a whole number of at least 1 is still a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query

MAX_JOBS = 1_000  # jobs per page of GET /jobs
MAX_LOGS = 10_000  # entries per page of GET /jobs/{id}/logs
MAX_RESULTS = 10_000  # results per page of GET /jobs/{id}/results


def limit_query(default: int, cap: int, what: str) -> Any:
    """The `limit` query parameter: at least 1, any size; the route serves `page_size()`."""
    return Query(
        default,
        ge=1,
        description=(
            f"how many {what} to return; at most {cap:,} come in one answer, a larger limit "
            f"gets the first {cap:,} and `next_cursor` for the rest"
        ),
    )


def page_size(limit: int, cap: int) -> int:
    """How many items one answer holds for a `limit` asked: the limit, or the cap if lower."""
    return min(limit, cap)
