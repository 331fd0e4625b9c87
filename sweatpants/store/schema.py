"""The database schema as numbered migrations; `migrate` brings any older file up to date.

The version lives in SQLite's `user_version`. Each migration runs once, in its own
transaction, in order. Never edit a released migration: add the next one.

Tables whose rows can be large (a result, a log line: megabytes at times) are rowid tables
with a separate index on their lookup key. Never make them WITHOUT ROWID: such a table keeps
whole rows in its key's b-tree, and one row far larger than a page slows every insert whose
key sorts beside it (migration 2 undoes exactly that).
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: jobs, their logs and results.
    """
    CREATE TABLE jobs (
        id             TEXT PRIMARY KEY,
        module_id      TEXT NOT NULL,
        status         TEXT NOT NULL,
        inputs         TEXT NOT NULL,
        settings       TEXT NOT NULL,
        max_duration   TEXT,
        max_seconds    REAL,
        created_at     REAL NOT NULL,
        started_at     REAL,
        completed_at   REAL,
        deadline_at    REAL,
        error          TEXT,
        traceback      TEXT,
        exit_code      INTEGER,
        checkpoint     TEXT,
        checkpoint_seq INTEGER NOT NULL DEFAULT 0,
        progress_done  REAL,
        progress_total REAL,
        result_count   INTEGER NOT NULL DEFAULT 0,
        log_count      INTEGER NOT NULL DEFAULT 0,
        resumes        INTEGER NOT NULL DEFAULT 0,
        pid            INTEGER,
        executor       TEXT NOT NULL DEFAULT 'local',
        node           TEXT
    );
    CREATE INDEX jobs_by_status ON jobs (status, created_at);
    CREATE INDEX jobs_by_created ON jobs (created_at);
    CREATE TABLE logs (
        id      INTEGER PRIMARY KEY,
        job_id  TEXT NOT NULL,
        ts      REAL NOT NULL,
        level   TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX logs_by_job ON logs (job_id, id);
    CREATE TABLE results (
        job_id TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        ts     REAL NOT NULL,
        data   TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
    ) WITHOUT ROWID;
    """,
    # 2: results become a rowid table with a unique index on (job_id, seq). WITHOUT ROWID kept
    # each whole row in the key's b-tree, where a row far larger than a page (one multi-MB
    # result) is read in full by every key comparison that meets it: inserts whose keys sorted
    # next to it ran ~250x slower (issue 19). Now the index holds only the key and the row id;
    # the data stays in the table's own b-tree, which is keyed by the integer row id.
    """
    CREATE TABLE results_v2 (
        job_id TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        ts     REAL NOT NULL,
        data   TEXT NOT NULL
    );
    INSERT INTO results_v2 (job_id, seq, ts, data)
        SELECT job_id, seq, ts, data FROM results ORDER BY job_id, seq;
    DROP TABLE results;
    ALTER TABLE results_v2 RENAME TO results;
    CREATE UNIQUE INDEX results_by_job ON results (job_id, seq);
    """,
    # 3: settings stored once per module (`PUT /modules/{id}/settings`), one row per key. The
    # value is JSON text; a secret's is sealed (`{"$sealed": "<token>"}`, see secrets.py). Rows
    # are small, and the primary key is their only lookup.
    """
    CREATE TABLE module_settings (
        module_id  TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (module_id, key)
    );
    """,
    # 4: schedules (issue 14), and where each job came from and how it retries. A schedule's
    # `next_run_at` is persisted after every fire, so a restart knows which slots it missed;
    # `last_job_id` is the job its status is read from (job pruning keeps that job: see
    # `sweatpants.store.schedules.KEPT_JOB_IDS`). Durations are kept as given (`30s`) and
    # parsed where used. A job's `attempt` counts from 1; `retry_at` is when a failed attempt
    # that went back to `pending` may start again; `retry_delay` is the first backoff.
    """
    ALTER TABLE jobs ADD COLUMN schedule_id TEXT;
    ALTER TABLE jobs ADD COLUMN trigger TEXT NOT NULL DEFAULT 'manual';
    ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE jobs ADD COLUMN retry_at REAL;
    ALTER TABLE jobs ADD COLUMN retry_delay TEXT;
    CREATE INDEX jobs_by_schedule ON jobs (schedule_id, created_at)
        WHERE schedule_id IS NOT NULL;
    CREATE TABLE schedules (
        id              TEXT PRIMARY KEY,
        name            TEXT,
        module_id       TEXT NOT NULL,
        inputs          TEXT NOT NULL,
        settings        TEXT NOT NULL,
        max_duration    TEXT,
        cron            TEXT,
        every           TEXT,
        timezone        TEXT,
        start_at        REAL,
        overlap         TEXT NOT NULL DEFAULT 'skip',
        misfire         TEXT NOT NULL DEFAULT 'coalesce',
        misfire_grace   TEXT NOT NULL DEFAULT '60s',
        retries         INTEGER NOT NULL DEFAULT 0,
        retry_delay     TEXT NOT NULL DEFAULT '30s',
        enabled         INTEGER NOT NULL DEFAULT 1,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL,
        next_run_at     REAL,
        last_run_at     REAL,
        last_job_id     TEXT,
        queued_at       REAL,
        skipped         INTEGER NOT NULL DEFAULT 0,
        last_skipped_at REAL
    );
    CREATE INDEX schedules_by_next ON schedules (enabled, next_run_at);
    CREATE INDEX schedules_by_last_job ON schedules (last_job_id);
    """,
    # 5: retention and webhooks (issue 15). `purges` lists deleted jobs whose log lines and
    # results are still being removed in batches (see store/retention.py). `webhooks` are
    # the receivers to tell about job events; `deliveries` is the durable queue of requests
    # to send (webhook events and modules' signed callbacks), one row per request, updated
    # after each attempt. Secrets are stored sealed (secrets.py). Small rows: the body is a
    # job as the API shows it, or a callback's payload.
    """
    CREATE TABLE purges (
        job_id     TEXT PRIMARY KEY,
        deleted_at REAL NOT NULL
    );
    CREATE TABLE webhooks (
        id         TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        events     TEXT NOT NULL,
        module_id  TEXT,
        secret     TEXT,
        enabled    INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE deliveries (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        webhook_id      TEXT,
        event           TEXT NOT NULL,
        job_id          TEXT,
        url             TEXT NOT NULL,
        payload         TEXT NOT NULL,
        secret          TEXT,
        token_sub       INTEGER,
        token_issuer    TEXT,
        status          TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        created_at      REAL NOT NULL,
        last_attempt_at REAL,
        response_code   INTEGER,
        duration_ms     REAL,
        error           TEXT,
        delivered_at    REAL
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at);
    CREATE INDEX deliveries_by_job ON deliveries (job_id, created_at);
    CREATE INDEX deliveries_by_created ON deliveries (created_at);
    """,
    # 6: job activity (issue 16, see store/timeline.py): per job and slot of time (a second,
    # a minute, an hour: `span`), the results and log lines stored with a timestamp in it and
    # the last progress reported in it, so `GET /jobs/{id}/timeline` reads a few hundred
    # small rows instead of every result. Filled from the rows already stored; progress
    # history was never kept before, so an older job gets its last progress as one sample.
    """
    CREATE TABLE job_activity (
        job_id         TEXT NOT NULL,
        span           INTEGER NOT NULL,
        slot           INTEGER NOT NULL,
        results        INTEGER NOT NULL DEFAULT 0,
        logs           INTEGER NOT NULL DEFAULT 0,
        progress_done  REAL,
        progress_total REAL,
        PRIMARY KEY (job_id, span, slot)
    ) WITHOUT ROWID;
    INSERT INTO job_activity (job_id, span, slot, results)
        SELECT job_id, 1, CAST(ts AS INTEGER) AS second, count(*) FROM results
        GROUP BY job_id, second;
    INSERT INTO job_activity (job_id, span, slot, logs)
        SELECT job_id, 1, CAST(ts AS INTEGER) AS second, count(*) FROM logs WHERE true
        GROUP BY job_id, second
        ON CONFLICT (job_id, span, slot) DO UPDATE SET logs = excluded.logs;
    INSERT INTO job_activity (job_id, span, slot, progress_done, progress_total)
        SELECT id, 1, CAST(COALESCE(completed_at, started_at, created_at) AS INTEGER),
               progress_done, progress_total
        FROM jobs WHERE progress_done IS NOT NULL
        ON CONFLICT (job_id, span, slot) DO UPDATE SET
            progress_done = excluded.progress_done, progress_total = excluded.progress_total;
    INSERT INTO job_activity (job_id, span, slot, results, logs, progress_done, progress_total)
        SELECT job_id, 60, minute, r, l, d, t FROM (
            SELECT job_id, slot / 60 * 60 AS minute, sum(results) AS r, sum(logs) AS l,
                   progress_done AS d, progress_total AS t,
                   max(CASE WHEN progress_done IS NOT NULL THEN slot END)
            FROM job_activity WHERE span = 1 GROUP BY job_id, minute
        ) WHERE true;
    INSERT INTO job_activity (job_id, span, slot, results, logs, progress_done, progress_total)
        SELECT job_id, 3600, hour, r, l, d, t FROM (
            SELECT job_id, slot / 3600 * 3600 AS hour, sum(results) AS r, sum(logs) AS l,
                   progress_done AS d, progress_total AS t,
                   max(CASE WHEN progress_done IS NOT NULL THEN slot END)
            FROM job_activity WHERE span = 60 GROUP BY job_id, hour
        ) WHERE true;
    """,
    # 7: the callbacks inbox (issue 15, see store/callbacks.py): what outside agents POST to
    # /callbacks, newest first by rowid; `payload` is JSON text. And who created a job: the
    # `sub` of the signed user token behind `POST /jobs` (NULL for the master token).
    """
    CREATE TABLE callbacks (
        id          TEXT PRIMARY KEY,
        callback_id TEXT,
        source      TEXT,
        status      TEXT,
        payload     TEXT NOT NULL,
        received_at REAL NOT NULL
    );
    CREATE INDEX callbacks_by_callback_id ON callbacks (callback_id);
    CREATE INDEX callbacks_by_source ON callbacks (source);
    CREATE INDEX callbacks_by_received ON callbacks (received_at);
    ALTER TABLE jobs ADD COLUMN created_by INTEGER;
    """,
    # 8: finding jobs (issue 16, see store/job_search.py). `job_text` holds what `GET /jobs?q=`
    # matches besides an id prefix: the module id, the error and the input values in lower
    # case, sealed secrets left out; a narrow table scans ~3x faster than `jobs`. Triggers keep
    # it in step with every insert, change and delete of a job. Two indexes serve the sorts by
    # result count and by duration (the expression `store.job_search.SORT_SQL` uses).
    """
    CREATE TABLE job_text (
        job_id TEXT PRIMARY KEY,
        text   TEXT NOT NULL
    );
    INSERT INTO job_text (job_id, text)
        SELECT id, lower(module_id || char(31) || IFNULL(substr(error, 1, 2000), '')
            || char(31) || CASE WHEN json_valid(inputs) THEN IFNULL((
                SELECT group_concat(atom, char(31)) FROM json_tree(jobs.inputs)
                WHERE atom IS NOT NULL AND key IS NOT '$sealed'), '') ELSE '' END)
        FROM jobs;
    CREATE TRIGGER job_text_insert AFTER INSERT ON jobs BEGIN
        INSERT OR REPLACE INTO job_text (job_id, text)
        VALUES (NEW.id, lower(NEW.module_id || char(31) || IFNULL(substr(NEW.error, 1, 2000), '')
            || char(31) || CASE WHEN json_valid(NEW.inputs) THEN IFNULL((
                SELECT group_concat(atom, char(31)) FROM json_tree(NEW.inputs)
                WHERE atom IS NOT NULL AND key IS NOT '$sealed'), '') ELSE '' END));
    END;
    CREATE TRIGGER job_text_update AFTER UPDATE OF module_id, error, inputs ON jobs BEGIN
        UPDATE job_text
        SET text = lower(NEW.module_id || char(31) || IFNULL(substr(NEW.error, 1, 2000), '')
            || char(31) || CASE WHEN json_valid(NEW.inputs) THEN IFNULL((
                SELECT group_concat(atom, char(31)) FROM json_tree(NEW.inputs)
                WHERE atom IS NOT NULL AND key IS NOT '$sealed'), '') ELSE '' END)
        WHERE job_id = NEW.id;
    END;
    CREATE TRIGGER job_text_delete AFTER DELETE ON jobs BEGIN
        DELETE FROM job_text WHERE job_id = OLD.id;
    END;
    CREATE INDEX jobs_by_results ON jobs (result_count, id);
    CREATE INDEX jobs_by_duration ON jobs (IFNULL(completed_at - started_at, -1), id);
    """,
    # 9: job_activity (migration 6) becomes a rowid table with a unique index on its key, like
    # every other table here (tests/test_store_layout.py): its rows are small, but the house
    # rule keeps no table index-organised. Same columns, same rows.
    """
    CREATE TABLE job_activity_v2 (
        job_id         TEXT NOT NULL,
        span           INTEGER NOT NULL,
        slot           INTEGER NOT NULL,
        results        INTEGER NOT NULL DEFAULT 0,
        logs           INTEGER NOT NULL DEFAULT 0,
        progress_done  REAL,
        progress_total REAL
    );
    INSERT INTO job_activity_v2 SELECT job_id, span, slot, results, logs, progress_done,
        progress_total FROM job_activity ORDER BY job_id, span, slot;
    DROP TABLE job_activity;
    ALTER TABLE job_activity_v2 RENAME TO job_activity;
    CREATE UNIQUE INDEX job_activity_by_slot ON job_activity (job_id, span, slot);
    """,
    # 10: finding jobs faster (issue 16): an FTS5 index with the trigram tokenizer over
    # `job_text` finds the jobs whose text holds a string of 3 or more characters without
    # reading every row (a rare term: ~0.05 ms instead of a ~35 ms scan of 100,000 rows).
    # `job_text` gets an INTEGER PRIMARY KEY, the FTS rows' stable key (an implicit rowid may
    # change with VACUUM), and triggers keep the index in step with it; the triggers on `jobs`
    # are those of migration 8, except that an insert first removes any row left for its id.
    """
    DROP TRIGGER job_text_insert;
    DROP TRIGGER job_text_update;
    DROP TRIGGER job_text_delete;
    CREATE TABLE job_text_v2 (
        id     INTEGER PRIMARY KEY,
        job_id TEXT NOT NULL UNIQUE,
        text   TEXT NOT NULL
    );
    INSERT INTO job_text_v2 (job_id, text) SELECT job_id, text FROM job_text;
    DROP TABLE job_text;
    ALTER TABLE job_text_v2 RENAME TO job_text;
    CREATE VIRTUAL TABLE job_fts USING fts5(
        text, content = 'job_text', content_rowid = 'id', tokenize = 'trigram'
    );
    INSERT INTO job_fts (job_fts) VALUES ('rebuild');
    CREATE TRIGGER job_fts_insert AFTER INSERT ON job_text BEGIN
        INSERT INTO job_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END;
    CREATE TRIGGER job_fts_delete AFTER DELETE ON job_text BEGIN
        INSERT INTO job_fts (job_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    END;
    CREATE TRIGGER job_fts_update AFTER UPDATE OF text ON job_text
    WHEN OLD.text IS NOT NEW.text BEGIN
        INSERT INTO job_fts (job_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
        INSERT INTO job_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END;
    CREATE TRIGGER job_text_insert AFTER INSERT ON jobs BEGIN
        DELETE FROM job_text WHERE job_id = NEW.id;
        INSERT INTO job_text (job_id, text)
        VALUES (NEW.id, lower(NEW.module_id || char(31) || IFNULL(substr(NEW.error, 1, 2000), '')
            || char(31) || CASE WHEN json_valid(NEW.inputs) THEN IFNULL((
                SELECT group_concat(atom, char(31)) FROM json_tree(NEW.inputs)
                WHERE atom IS NOT NULL AND key IS NOT '$sealed'), '') ELSE '' END));
    END;
    CREATE TRIGGER job_text_update AFTER UPDATE OF module_id, error, inputs ON jobs BEGIN
        UPDATE job_text
        SET text = lower(NEW.module_id || char(31) || IFNULL(substr(NEW.error, 1, 2000), '')
            || char(31) || CASE WHEN json_valid(NEW.inputs) THEN IFNULL((
                SELECT group_concat(atom, char(31)) FROM json_tree(NEW.inputs)
                WHERE atom IS NOT NULL AND key IS NOT '$sealed'), '') ELSE '' END)
        WHERE job_id = NEW.id;
    END;
    CREATE TRIGGER job_text_delete AFTER DELETE ON jobs BEGIN
        DELETE FROM job_text WHERE job_id = OLD.id;
    END;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The statements of a migration, split at each `;` that ends one (a trigger's body holds
    `;` of its own: SQLite says when a statement is complete)."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                found.append(pending)
            pending = ""
    if pending.strip(" \n;"):
        found.append(pending)
    return found


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this file lacks; return the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {current}, newer than this Sweatpants "
            f"understands ({SCHEMA_VERSION}); upgrade Sweatpants or point "
            "SWEATPANTS_DB_PATH at another file"
        )
    if 0 < current < SCHEMA_VERSION:  # a copy of a big table can take a while: say so
        log.info("upgrading the database from schema version %d to %d", current, SCHEMA_VERSION)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
