"""A throwaway schema that holds every object the benchmark creates.

``scratch_schema`` creates ``pgtune_hx_vbench_<random>``, yields a Scratch,
and drops the schema with CASCADE when the block ends, however it ends:
success, an error, or Ctrl-C (KeyboardInterrupt passes through ``finally``).
The drop uses a fresh connection, because the working one may be mid-query
or broken when the block is left. When pgvector is not installed in the
database it is created inside the scratch schema, so the drop removes it too.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from psycopg import sql

from pgtune_hx.db import Connection, Guard, connect, translated

SCHEMA_PREFIX = "pgtune_hx_vbench_"
ITEMS = "items"
QUERIES = "queries"
# Building an index can take minutes: no statement timeout for the benchmark's
# own session, but a bounded wait for locks.
WRITE_GUARD = Guard(read_only=False, statement_timeout_ms=0, lock_timeout_ms=10_000)
COPY_BATCH = 20_000


@dataclass
class Scratch:
    dsn: str
    schema: str
    extension_schema: str
    created_extension: bool

    def ident(self, name: str) -> sql.Composed:
        return sql.SQL(".").join([sql.Identifier(self.schema), sql.Identifier(name)])

    @property
    def items(self) -> sql.Composed:
        return self.ident(ITEMS)

    @property
    def queries(self) -> sql.Composed:
        return self.ident(QUERIES)

    def connect(self) -> Connection:
        """A writable session whose search_path finds pgvector's operators."""
        conn = connect(self.dsn, WRITE_GUARD)
        with translated("setting the benchmark's search_path"):
            conn.execute(
                sql.SQL("SET search_path TO {}, {}").format(
                    sql.Identifier(self.schema), sql.Identifier(self.extension_schema)
                )
            )
        return conn


def drop_schema(dsn: str, schema: str) -> None:
    with connect(dsn, WRITE_GUARD) as conn, translated(f"dropping scratch schema {schema}"):
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def scratch_schema(dsn: str) -> Iterator[Scratch]:
    schema = SCHEMA_PREFIX + secrets.token_hex(4)
    with connect(dsn, WRITE_GUARD) as conn:
        with translated("creating the scratch schema"):
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        with connect(dsn, WRITE_GUARD) as conn:
            ext_schema, created = _ensure_vector(conn, schema)
        yield Scratch(dsn, schema, ext_schema, created)
    finally:
        drop_schema(dsn, schema)


def _ensure_vector(conn: Connection, schema: str) -> tuple[str, bool]:
    with translated("looking for pgvector"):
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'vector'"
        ).fetchone()
    if row is not None:
        return str(row["nspname"]), False
    with translated("CREATE EXTENSION vector (pgvector)"):
        conn.execute(
            sql.SQL("CREATE EXTENSION vector WITH SCHEMA {}").format(sql.Identifier(schema))
        )
    return schema, True


def copy_buffer(
    ids: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32],
    extra: npt.NDArray[np.float32] | None,
) -> bytes:
    """Rows (int4 id, vector, [float4]) in COPY BINARY form, built by numpy in
    one pass rather than one Python call per value."""
    n, dim = vectors.shape
    fields: list[tuple[str, str] | tuple[str, str, tuple[int]]] = [
        ("nfields", ">i2"),
        ("id_len", ">i4"),
        ("id", ">i4"),
        ("vec_len", ">i4"),
        ("dim", ">i2"),
        ("unused", ">i2"),
        ("values", ">f4", (dim,)),
    ]
    if extra is not None:
        fields += [("extra_len", ">i4"), ("extra", ">f4")]
    rows = np.zeros(n, dtype=np.dtype(fields))
    rows["nfields"] = 2 if extra is None else 3
    rows["id_len"] = 4
    rows["id"] = ids
    rows["vec_len"] = 4 + 4 * dim
    rows["dim"] = dim
    rows["values"] = vectors
    if extra is not None:
        rows["extra_len"] = 4
        rows["extra"] = extra
    return rows.tobytes()


COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def load_table(
    conn: Connection,
    table: sql.Composed,
    vectors: npt.NDArray[np.float32],
    *,
    id_column: str = "id",
    extra_column: str | None = None,
    extra: npt.NDArray[np.float32] | None = None,
    primary_key: bool = False,
) -> None:
    """Create ``table`` (id int4, embedding vector(dim)[, extra real]) and COPY
    the rows in; ids are the row positions, so results map back to numpy."""
    dim = int(vectors.shape[1])
    columns = [
        sql.SQL("{} int4 NOT NULL").format(sql.Identifier(id_column)),
        sql.SQL("embedding vector({})").format(sql.Literal(dim)),
    ]
    names = [sql.Identifier(id_column), sql.Identifier("embedding")]
    if extra_column is not None:
        columns.append(sql.SQL("{} real NOT NULL").format(sql.Identifier(extra_column)))
        names.append(sql.Identifier(extra_column))
    with translated("creating a scratch table"):
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(columns)))
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
            table, sql.SQL(", ").join(names)
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.write(COPY_HEADER)
            for start in range(0, len(vectors), COPY_BATCH):
                stop = min(start + COPY_BATCH, len(vectors))
                part = None if extra is None else extra[start:stop]
                copy.write(copy_buffer(np.arange(start, stop), vectors[start:stop], part))
            copy.write(COPY_TRAILER)
        if primary_key:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                    table, sql.Identifier(id_column)
                )
            )
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))
