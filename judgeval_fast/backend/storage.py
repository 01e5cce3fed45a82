"""Persistent (SQLite) and in-memory state of the local backend.

SQLite holds what tests inspect after the fact (spans, tags, evaluations,
projects). The request log and counters live in memory because they are
written on every request and must stay cheap under benchmark load.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson

_INT64_MAX = 2**63 - 1

# Column order shared by INSERT and SELECT; JSON columns are listed apart so
# they can be (de)serialised generically.
_SPAN_COLUMNS = (
    "request_id",
    "received_at",
    "project_id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "trace_state",
    "name",
    "kind",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "flags",
    "status_code",
    "status_message",
    "attributes",
    "events",
    "links",
    "dropped_attributes_count",
    "dropped_events_count",
    "dropped_links_count",
    "resource_attributes",
    "scope_name",
    "scope_version",
)
_SPAN_JSON_COLUMNS = frozenset({"attributes", "events", "links", "resource_attributes"})
_SPAN_BIGINT_COLUMNS = frozenset({"start_time_unix_nano", "end_time_unix_nano"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY,
    request_id INTEGER,
    received_at REAL,
    project_id TEXT,
    trace_id TEXT,
    span_id TEXT,
    parent_span_id TEXT,
    trace_state TEXT,
    name TEXT,
    kind INTEGER,
    -- No declared type (BLOB affinity): out-of-range uint64 values are
    -- stored as text and must not be coerced to REAL by INTEGER affinity.
    start_time_unix_nano,
    end_time_unix_nano,
    flags INTEGER,
    status_code INTEGER,
    status_message TEXT,
    attributes TEXT,
    events TEXT,
    links TEXT,
    dropped_attributes_count INTEGER,
    dropped_events_count INTEGER,
    dropped_links_count INTEGER,
    resource_attributes TEXT,
    scope_name TEXT,
    scope_version TEXT
);
CREATE INDEX IF NOT EXISTS spans_trace_id ON spans(trace_id);
CREATE INDEX IF NOT EXISTS spans_name ON spans(name);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    request_id INTEGER,
    received_at REAL,
    project_id TEXT,
    project_name TEXT,
    trace_id TEXT,
    tag TEXT
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY,
    request_id INTEGER,
    received_at REAL,
    kind TEXT,
    path TEXT,
    project_id TEXT,
    body TEXT
);
CREATE TABLE IF NOT EXISTS projects (
    project_id TEXT PRIMARY KEY,
    project_name TEXT NOT NULL,
    created_at REAL
);
"""


def project_id_for(name: str) -> str:
    """Derive the deterministic project id used by ``/projects/resolve``.

    Args:
        name: Project name.

    Returns:
        First 16 hex digits of the SHA-256 of the UTF-8 name.
    """
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def dumps_text(value: Any) -> str:
    """Serialise a JSON value to text, tolerating what orjson refuses.

    Args:
        value: JSON-compatible value.

    Returns:
        JSON text.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses integers beyond 64 bits, which the stdlib parser
        # (see loads_text) can produce; fall back to the slower encoder.
        return json.dumps(value)


def loads_text(data: str | bytes) -> Any:
    """Parse JSON, falling back to the stdlib for what orjson refuses.

    orjson rejects the ``NaN``/``Infinity`` literals that Python's json
    module (and many SDKs) emit; the backend must accept what clients send.

    Args:
        data: JSON text or bytes.

    Returns:
        The decoded value.

    Raises:
        ValueError: If the data is not valid JSON.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _sql_int(value: int) -> int | str:
    # uint64 timestamps from a hostile client can exceed SQLite's signed
    # 64-bit INTEGER; storing them as text keeps the insert from failing.
    return value if value <= _INT64_MAX else str(value)


class Storage:
    """SQLite-backed store shared by all handler threads.

    One connection guarded by a lock is used (rather than one per thread)
    because ``:memory:`` databases are private to their connection.
    """

    def __init__(self, path: str = ":memory:") -> None:
        """Open (and create if needed) the database.

        Args:
            path: SQLite file path or ``:memory:``.
        """
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            # The backend is a test fixture: throughput beats durability.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.executescript(_SCHEMA)
        self._counts = {
            table: int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("spans", "tags", "evaluations", "projects")
        }
        # Count-only mode: span rows and distinct ids per name, kept in memory instead of
        # SQLite (storing costs ~40 µs a span, which caps what a benchmark can deliver).
        self._counted_rows: dict[str, int] = {}
        self._counted_ids: dict[str, set[bytes]] = {}
        self._counted_all: set[bytes] = set()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def counts(self) -> dict[str, int]:
        """Return row counts without touching SQLite.

        Returns:
            Mapping with keys spans, tags, evaluations, projects.
        """
        with self._lock:
            return dict(self._counts)

    def insert_spans(
        self,
        spans: Iterable[dict[str, Any]],
        request_id: int,
        received_at: float,
        project_id: str,
    ) -> int:
        """Store decoded spans from one export request.

        Args:
            spans: Span dicts as produced by ``otlp.request_to_spans``.
            request_id: Id of the request-log entry they arrived with.
            received_at: Wall-clock receive time.
            project_id: Project id from the URL or X-Project-Id header.

        Returns:
            Number of spans stored.
        """
        context: dict[str, Any] = {
            "request_id": request_id,
            "received_at": received_at,
            "project_id": project_id,
        }
        rows = []
        for span in spans:
            row: list[Any] = []
            for col in _SPAN_COLUMNS:
                value = context[col] if col in context else span.get(col)
                if col in _SPAN_JSON_COLUMNS:
                    value = dumps_text(value)
                elif col in _SPAN_BIGINT_COLUMNS:
                    value = _sql_int(int(value or 0))
                row.append(value)
            rows.append(row)
        if not rows:
            return 0
        placeholders = ",".join("?" * len(_SPAN_COLUMNS))
        sql = f"INSERT INTO spans ({','.join(_SPAN_COLUMNS)}) VALUES ({placeholders})"
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(sql, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self._counts["spans"] += len(rows)
        return len(rows)

    def list_spans(
        self,
        limit: int | None = None,
        name: str | None = None,
        trace_id: str | None = None,
        span_id: str | None = None,
        request_id: int | None = None,
        name_prefix: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return stored spans in arrival order, optionally filtered.

        Args:
            limit: Maximum number of spans (None = all).
            name: Exact span name.
            trace_id: Trace id (hex, case-insensitive).
            span_id: Span id (hex, case-insensitive).
            request_id: Request-log id the spans arrived with.
            name_prefix: Names starting with this (compared exactly, no LIKE patterns).

        Returns:
            Span dicts including ``id``, ``request_id`` and ``received_at``.
        """
        where: list[str] = []
        params: list[Any] = []
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if name_prefix is not None:
            where.append("substr(name, 1, ?) = ?")
            params.extend((len(name_prefix), name_prefix))
        if trace_id is not None:
            where.append("trace_id = ?")
            params.append(trace_id.lower())
        if span_id is not None:
            where.append("span_id = ?")
            params.append(span_id.lower())
        if request_id is not None:
            where.append("request_id = ?")
            params.append(request_id)
        sql = f"SELECT id, {','.join(_SPAN_COLUMNS)} FROM spans"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        out = []
        for row in rows:
            d: dict[str, Any] = {"id": row[0]}
            for col, value in zip(_SPAN_COLUMNS, row[1:], strict=True):
                if col in _SPAN_JSON_COLUMNS:
                    value = loads_text(value) if value is not None else None
                elif col in _SPAN_BIGINT_COLUMNS and isinstance(value, str):
                    value = int(value)
                d[col] = value
            out.append(d)
        return out

    def count_spans(self, keys: Iterable[tuple[str, bytes]]) -> int:
        """Count spans without storing them (count-only mode).

        Args:
            keys: (name, trace_id + span_id) per span, as ``otlp.request_span_keys``.

        Returns:
            Number of spans counted.
        """
        n = 0
        with self._lock:
            for name, key in keys:
                self._counted_rows[name] = self._counted_rows.get(name, 0) + 1
                self._counted_ids.setdefault(name, set()).add(key)
                self._counted_all.add(key)
                n += 1
            self._counts["spans"] += n
        return n

    def span_counts(self) -> dict[str, Any]:
        """Count stored span records and distinct spans, in total and per name.

        SDKs that export a partial update of a span before its final record
        (judgeval 0.32 and 1.x do, for every observed call) store several
        rows per span; counting distinct (trace_id, span_id) pairs tells how
        many spans arrived at all without fetching every row.

        Spans counted in count-only mode are included (a backend runs in one mode, so
        stored and counted spans never overlap).

        Returns:
            ``{"spans": rows, "distinct": n, "by_name": {name: {"spans", "distinct"}}}``.
        """
        with self._lock:
            total = self._conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT trace_id || ':' || span_id) FROM spans"
            ).fetchone()
            per_name = self._conn.execute(
                "SELECT name, COUNT(*), COUNT(DISTINCT trace_id || ':' || span_id)"
                " FROM spans GROUP BY name"
            ).fetchall()
            by_name = {
                str(name): {"spans": int(rows), "distinct": int(distinct)}
                for name, rows, distinct in per_name
            }
            for name, rows in self._counted_rows.items():
                entry = by_name.setdefault(name, {"spans": 0, "distinct": 0})
                entry["spans"] += rows
                entry["distinct"] += len(self._counted_ids[name])
            spans = int(total[0]) + sum(self._counted_rows.values())
            distinct = int(total[1]) + len(self._counted_all)
        return {
            "spans": spans,
            "distinct": distinct,
            "by_name": dict(sorted(by_name.items())),
        }

    def add_tags(
        self,
        project_id: str,
        project_name: str,
        trace_id: str,
        tags: list[str],
        request_id: int,
    ) -> int:
        """Store trace tags, one row per tag.

        Args:
            project_id: Project id (derived from the name if not in the URL).
            project_name: Project name, "" when only the id is known.
            trace_id: Trace the tags belong to.
            tags: Tag strings.
            request_id: Request-log id.

        Returns:
            Number of tags stored.
        """
        now = time.time()
        rows = [(request_id, now, project_id, project_name, trace_id, t) for t in tags]
        with self._lock:
            self._conn.executemany(
                "INSERT INTO tags"
                " (request_id, received_at, project_id, project_name, trace_id, tag)"
                " VALUES (?,?,?,?,?,?)",
                rows,
            )
            self._counts["tags"] += len(rows)
        return len(rows)

    def list_tags(self) -> list[dict[str, Any]]:
        """Return all stored tags in arrival order.

        Returns:
            Dicts with id, request_id, received_at, project_id, project_name,
            trace_id, tag.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, request_id, received_at, project_id, project_name, trace_id, tag"
                " FROM tags ORDER BY id"
            ).fetchall()
        keys = (
            "id",
            "request_id",
            "received_at",
            "project_id",
            "project_name",
            "trace_id",
            "tag",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def add_evaluation(
        self, kind: str, path: str, project_id: str, body: Any, request_id: int
    ) -> int:
        """Store one evaluation-queue submission.

        Args:
            kind: ``"examples"`` or ``"traces"``.
            path: Request path it arrived on.
            project_id: Project id from the URL ("" if none).
            body: Decoded JSON body, stored verbatim.
            request_id: Request-log id.

        Returns:
            Row id of the stored evaluation.
        """
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO evaluations (request_id, received_at, kind, path, project_id, body)"
                " VALUES (?,?,?,?,?,?)",
                (request_id, time.time(), kind, path, project_id, dumps_text(body)),
            )
            self._counts["evaluations"] += 1
            return int(cur.lastrowid or 0)

    def list_evaluations(self) -> list[dict[str, Any]]:
        """Return all stored evaluations in arrival order.

        Returns:
            Dicts with id, request_id, received_at, kind, path, project_id,
            body (decoded JSON).
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, request_id, received_at, kind, path, project_id, body"
                " FROM evaluations ORDER BY id"
            ).fetchall()
        keys = ("id", "request_id", "received_at", "kind", "path", "project_id")
        out = []
        for row in rows:
            d = dict(zip(keys, row[:6], strict=True))
            d["body"] = loads_text(row[6])
            out.append(d)
        return out

    def resolve_project(self, name: str) -> str:
        """Return the project id for ``name``, remembering the project.

        Args:
            name: Project name.

        Returns:
            Deterministic project id.
        """
        pid = project_id_for(name)
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO projects (project_id, project_name, created_at)"
                " VALUES (?,?,?)",
                (pid, name, time.time()),
            )
            self._counts["projects"] += max(0, cur.rowcount)
        return pid

    def list_projects(self) -> list[dict[str, Any]]:
        """Return every known project.

        Returns:
            Dicts with project_id, project_name, created_at.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT project_id, project_name, created_at FROM projects ORDER BY created_at"
            ).fetchall()
        return [
            dict(zip(("project_id", "project_name", "created_at"), row, strict=True))
            for row in rows
        ]

    def clear(self) -> None:
        """Delete spans, tags and evaluations (projects are kept)."""
        with self._lock:
            self._conn.execute("BEGIN")
            for table in ("spans", "tags", "evaluations"):
                self._conn.execute(f"DELETE FROM {table}")
                self._counts[table] = 0
            self._conn.execute("COMMIT")
            self._counted_rows.clear()
            self._counted_ids.clear()
            self._counted_all.clear()


class RequestLog:
    """Bounded in-memory log of non-admin requests.

    Ids keep increasing across ``clear()`` so a client polling with
    ``since=<last id>`` never confuses old and new entries.
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        """Create an empty log.

        Args:
            maxlen: Ring size; the oldest entries are dropped beyond it.
        """
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._next_id = 1

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append an entry, assigning its ``id``.

        Args:
            entry: Entry fields (``id`` is overwritten).

        Returns:
            The stored entry (same object), later updated via ``update``.
        """
        with self._lock:
            entry["id"] = self._next_id
            self._next_id += 1
            self._entries.append(entry)
        return entry

    def update(self, entry: dict[str, Any], **fields: Any) -> None:
        """Update fields of an entry already in the log.

        Args:
            entry: Entry returned by ``add``.
            **fields: Fields to set.
        """
        with self._lock:
            entry.update(fields)

    def since(self, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Return copies of entries with ``id > since``, oldest first.

        Args:
            since: Last id the caller has already seen.
            limit: Maximum number of entries returned.

        Returns:
            Entry copies (safe to serialise outside the lock).
        """
        with self._lock:
            newer: list[dict[str, Any]] = []
            # Walk from the newest end: pollers usually ask for a short tail.
            for entry in reversed(self._entries):
                if entry["id"] <= since:
                    break
                newer.append(dict(entry, headers=dict(entry["headers"])))
        newer.reverse()
        return newer[:limit] if limit is not None else newer

    def __len__(self) -> int:
        """Return the number of entries currently held.

        Returns:
            Entry count.
        """
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Drop every entry (ids keep counting)."""
        with self._lock:
            self._entries.clear()


class Counters:
    """Thread-safe integer counters reported by ``/_admin/stats``."""

    NAMES = (
        "requests",
        "trace_requests",
        "rejected",
        "bytes_received",
        "faulted",
        "partial_rejected_spans",
        "connections_total",
    )

    def __init__(self) -> None:
        """Create all counters at zero."""
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self.NAMES, 0)

    def add(self, **deltas: int) -> None:
        """Increment counters.

        Args:
            **deltas: Counter name to increment.
        """
        with self._lock:
            for name, delta in deltas.items():
                self._values[name] += delta

    def snapshot(self) -> dict[str, int]:
        """Return the current values.

        Returns:
            Counter name to value.
        """
        with self._lock:
            return dict(self._values)

    def clear(self) -> None:
        """Reset every counter to zero."""
        with self._lock:
            for name in self._values:
                self._values[name] = 0
