"""Take SQLite's write lock at the start of a read-then-write transaction.

The kernel opens SQLite transactions with a plain (deferred) BEGIN in WAL mode. A transaction
that reads first and writes later cannot upgrade if another writer committed in between: SQLite
answers "database is locked" at once, whatever the busy timeout. The inbox's writers (the
webhook receiver, claim/ack/resolve, escalation) therefore start with a write that changes
nothing, which waits its turn under busy_timeout and then holds the lock to the end. PostgreSQL
needs nothing: its row locks and MVCC handle the same case.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def write_lock(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE alerts SET id = id WHERE 0"))
