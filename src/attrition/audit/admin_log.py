"""The admin log: who ran purge, export or erase, as whom on the machine, when, and counts only.

`--actor` is free text the operator types, so each entry also records the OS account that ran the
command, and entries form a hash chain (attrition.audit.chain): editing or deleting a past entry
breaks every link after it, which `verify_admin_log` (`attrition audit verify`) reports. The chain is
tamper evidence, not tamper proof: whoever can write the table can rewrite the whole chain, so the
head hash `verify` prints is worth keeping somewhere else (a ticket, the job's log). Appends are
serialised (an advisory lock on PostgreSQL, the write lock on SQLite) so concurrent commands never
fork the chain; a unique index on `prev_hash` refuses a fork should one slip through.
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from attrition.audit.chain import CHAINED_FIELDS, entry_hash
from attrition.audit.records import iso_utc
from attrition.audit.schema import admin_log

ADMIN_LOG_LOCK_KEY = 0x617474726C6F67  # "attrlog": one advisory lock id for appends to the chain


def os_user() -> str:
    """The account this process runs as, by effective uid (getpass.getuser() trusts $USER first)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a container uid with no passwd entry
        return f"uid {uid}"


def hold_write_lock(connection: Connection) -> None:
    """Hold the chain's lock (and on SQLite the database's write lock) until the transaction ends.

    Taken before reading what the transaction will then write from: the chain's head, or the rows
    an erase is about to delete.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ADMIN_LOG_LOCK_KEY)))
        return
    # pysqlite begins a transaction lazily, at the first write: until then another process may
    # append between our read of the head and our insert. BEGIN IMMEDIATE takes the write lock now.
    dbapi = connection.connection.dbapi_connection
    if not getattr(dbapi, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def log_admin_action(
    connection: Connection,
    actor: str,
    action: str,
    employee_id: str | None,
    detail: Mapping[str, object],
    ts: float,
) -> str:
    """Append one entry (purge, export, erase) to the chain; returns its hash."""
    hold_write_lock(connection)
    head = connection.execute(
        sa.select(admin_log.c.entry_hash).order_by(admin_log.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    entry: dict[str, object] = {
        "ts": ts,
        "created_at": iso_utc(ts),
        "actor": actor,
        "os_user": os_user(),
        "action": action,
        "employee_id": employee_id,
        "detail": json.dumps(dict(detail), sort_keys=True),
    }
    digest = entry_hash(head, entry)
    connection.execute(admin_log.insert().values(**entry, prev_hash=head, entry_hash=digest))
    return digest


@dataclass(frozen=True)
class ChainReport:
    """What verification found: `broken_at` is the id of the first entry that does not check out."""

    entries: int
    head: str | None
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        """True when every entry's hash and link check out."""
        return self.broken_at is None


def verify_admin_log(engine: Engine) -> ChainReport:
    """Recompute the chain from the first entry; stop at the first entry that was changed or unlinked."""
    columns = [admin_log.c.id, admin_log.c.prev_hash, admin_log.c.entry_hash]
    columns += [admin_log.c[name] for name in CHAINED_FIELDS]
    previous: str | None = None
    entries = 0
    with engine.connect() as connection:
        for row in connection.execute(sa.select(*columns).order_by(admin_log.c.id)):
            values = row._mapping
            if values["prev_hash"] != previous:
                return ChainReport(entries, previous, values["id"], "its link to the entry before is wrong")
            if entry_hash(previous, dict(values)) != values["entry_hash"]:
                return ChainReport(entries, previous, values["id"], "its content changed after it was logged")
            previous = values["entry_hash"]
            entries += 1
    return ChainReport(entries, previous)
