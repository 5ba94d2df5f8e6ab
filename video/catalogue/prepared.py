"""Hot read statements compiled once per shape and run on the session's own driver connection.

A catalogue list page is two or three small, indexed SELECTs; with the ORM the Python around
them (building the statement, its cache key, load options, the execution context, ORM objects)
costs several times what the database does. Here a statement is built with SQLAlchemy Core and
named bind parameters, compiled for the session's dialect once per *shape* (which clauses, how
many IN values on SQLite) and kept; later calls only bind values and read tuples:

    rows = fetch(session, ("page", shape...), build=lambda: select(...), values={...})

- The SQL is SQLAlchemy's own compilation, and the values go through each parameter type's
  bind processor, so what reaches the driver is what `session.execute` would have sent.
- Results come back as plain tuples with each column type's result processor applied (SQLite's
  0/1 booleans and ISO date strings become bool and datetime, as the ORM would give).
- The statement runs on the cursor of the session's current connection, inside its transaction,
  after an autoflush; `before_cursor_execute`/`after_cursor_execute` listeners are called like
  SQLAlchemy calls them, and a driver error is raised as SQLAlchemy's `DBAPIError`. (The
  engine's `echo` log does not see them; a listener does.)
- The key must describe everything the built statement depends on except bound values: two
  calls with one key must build the same SQL. The cache is bounded (least recently used out)
  and belongs to the engine (one `StatementCache` per engine, which the runtime builds).

Why not SQLAlchemy's own compiled-statement cache: it was tried (#11). Built per call and run
through `Connection.execute`, the same list pages cost 2-14× these at the median on SQLite and
1.03-1.3× on PostgreSQL (bench/video_catalogue.py, 100,000 cameras, times both in one run, the
SQLAlchemy variant read from git), because
building the statement and its cache key and SQLAlchemy's execution context cost far more than
the sub-millisecond query itself. An empty IN list never reaches this module (queries folds it
to FALSE).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from threading import Lock
from typing import Any, TypeAlias

from sqlalchemy import BindParameter, bindparam, exc
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

MAX_SHAPES = 512
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


VALUE, LIST, CONSTANT = 0, 1, 2
_ITEM = re.compile(r"^(?P<name>.+)__(?P<index>\d+)$")


def items(name: str, count: int, type_: Any) -> list[BindParameter[Any]]:
    """`count` parameters that take the items of the one list value `name`: an IN list for a
    driver without array parameters. The key must include `count`."""
    return [bindparam(f"{name}__{i}", type_=type_) for i in range(count)]


@dataclass(frozen=True, slots=True)
class _Slot:
    kind: int  # VALUE, LIST (the items of one list value) or CONSTANT (a literal of the statement)
    name: str  # the value's name; a CONSTANT's bind name
    count: int = 1  # a LIST's length
    proc: Callable[[Any], Any] | None = None  # the type's bind processor
    constant: Any = None


@dataclass(slots=True)
class Prepared:
    sql: str
    positional: bool
    slots: tuple[_Slot, ...]  # in parameter order when positional
    types: tuple[Any, ...]  # the selected columns' types, for this dialect
    # (column index, result processor), set on the first run: a processor may depend on the type
    # the driver reports for the column (cursor.description), e.g. PostgreSQL numerics.
    result: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def result_processors(self, dialect: Dialect, description: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        if self.result is None:
            procs = []
            for i, (type_, column) in enumerate(zip(self.types, description or (), strict=False)):
                proc = type_.result_processor(dialect, column[1])
                if proc is not None:
                    procs.append((i, proc))
            self.result = tuple(procs)
        return self.result

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self.positional:
            out: list[Any] = []
            for s in self.slots:
                if s.kind == VALUE:
                    v = values[s.name]
                    out.append(v if s.proc is None or v is None else s.proc(v))
                elif s.kind == LIST:
                    v = _checked(values[s.name], s)
                    out.extend(v if s.proc is None else [s.proc(x) for x in v])
                else:
                    out.append(s.constant)
            return tuple(out)
        named: dict[str, Any] = {}
        for s in self.slots:
            if s.kind == VALUE:
                v = values[s.name]
                named[s.name] = v if s.proc is None or v is None else s.proc(v)
            elif s.kind == LIST:
                for i, x in enumerate(_checked(values[s.name], s)):
                    named[f"{s.name}__{i}"] = x if s.proc is None else s.proc(x)
            else:
                named[s.name] = s.constant
        return named


def _checked(value: Sequence[Any], slot: _Slot) -> Sequence[Any]:
    if len(value) != slot.count:
        raise ValueError(
            f"{slot.name} has {len(value)} items; this statement takes {slot.count} (the key must include the length)"
        )
    return value


class StatementCache:
    """Prepared statements by (dialect, server version, key), least recently used out."""

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        self.max_shapes = max_shapes
        self._items: OrderedDict[tuple[str, Any, Hashable], Prepared] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, dialect: Dialect, key: Hashable, build: Callable[[], AnySelect]) -> Prepared:
        cache_key = (dialect.name, dialect.server_version_info, key)
        with self._lock:
            hit = self._items.get(cache_key)
            if hit is not None:
                self._items.move_to_end(cache_key)
                return hit
        made = compile_statement(build(), dialect)
        with self._lock:
            self._items[cache_key] = made
            while len(self._items) > self.max_shapes:
                self._items.popitem(last=False)
        return made


def statements_of(engine: Engine) -> StatementCache:
    """The engine's statement cache, made on first use. It lives on the Engine object (built once
    by the runtime, disposed with it), so two engines (two databases) never share statements."""
    cache = engine.__dict__.get("_govops_statements")
    if cache is None:
        cache = engine.__dict__.setdefault("_govops_statements", StatementCache())
    return cache


def compile_statement(stmt: AnySelect, dialect: Dialect) -> Prepared:
    compiled = stmt.compile(dialect=dialect)
    positional = bool(compiled.positional)
    names = list(compiled.positiontup or ()) if positional else list(dict.fromkeys(compiled.binds))
    slots: list[_Slot] = []
    for name in names:
        bp = compiled.binds[name]
        proc = bp.type.dialect_impl(dialect).bind_processor(dialect)
        item = _ITEM.match(name) if bp.required else None
        if not bp.required:
            slots.append(
                _Slot(CONSTANT, name, constant=bp.effective_value if proc is None else proc(bp.effective_value))
            )
        elif item is None:
            slots.append(_Slot(VALUE, name, proc=proc))
        elif (
            slots
            and slots[-1].kind == LIST
            and slots[-1].name == item["name"]
            and int(item["index"]) == slots[-1].count
        ):
            slots[-1] = _Slot(LIST, item["name"], slots[-1].count + 1, proc)
        elif item["index"] == "0":
            slots.append(_Slot(LIST, item["name"], 1, proc))
        else:
            raise ValueError(f"the items of {item['name']} are not in order in {compiled.string}")
    types = tuple(c.type.dialect_impl(dialect) for c in stmt.selected_columns)
    return Prepared(compiled.string, positional, tuple(slots), types)


def fetch(
    session: Session, key: Hashable, build: Callable[[], AnySelect], values: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """All rows of the statement `key` names (built by `build` on first use) for `values`."""
    if session.autoflush:
        session.flush()  # what session.execute would do first; nearly free when nothing is pending
    conn = session.connection()
    prep = statements_of(conn.engine).get(conn.dialect, key, build)
    params: Any = prep.parameters(values)
    sql = prep.sql
    cursor = conn.connection.cursor()
    try:
        before = conn.dispatch.before_cursor_execute
        if before:
            for fn in before:
                sql, params = fn(conn, cursor, sql, params, None, False)
        try:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            result = prep.result_processors(conn.dialect, cursor.description)
        except conn.dialect.loaded_dbapi.Error as err:
            raise exc.DBAPIError.instance(
                sql, params, err, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
            ) from err
        after = conn.dispatch.after_cursor_execute
        if after:
            for fn in after:
                fn(conn, cursor, sql, params, None, False)
    finally:
        cursor.close()
    if not result:
        return list(rows)
    out: list[Sequence[Any]] = []
    for row in rows:
        converted = list(row)
        for i, proc in result:
            if converted[i] is not None:
                converted[i] = proc(converted[i])
        out.append(converted)
    return out
