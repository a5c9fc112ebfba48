"""pgvector's ``vector`` type for psycopg, in binary: numpy float32 arrays go
in and come out without text formatting (which would dominate the client's
time per query at 128+ dimensions).

Wire format (pgvector vector_send): int16 dimensions, int16 unused (0), then
the values as big-endian float4.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt
from psycopg import Connection
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

from pgtune_hx.errors import MissingCapability

BE_FLOAT4 = np.dtype(">f4")


def encode(vector: npt.NDArray[np.floating]) -> bytes:
    """>>> encode(np.array([1.0], dtype=np.float32)).hex()
    '000100003f800000'
    """
    values = np.asarray(vector, dtype=BE_FLOAT4)
    return struct.pack(">hh", values.shape[0], 0) + values.tobytes()


def decode(data: Buffer) -> npt.NDArray[np.float32]:
    dim = struct.unpack_from(">h", data)[0]
    return np.frombuffer(data, dtype=BE_FLOAT4, count=dim, offset=4).astype(np.float32)


class VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: npt.NDArray[np.floating]) -> bytes:
        return encode(obj)


class VectorLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> npt.NDArray[np.float32]:
        return decode(bytes(data))


def register_vector(conn: Connection[object]) -> int:
    """Teach this connection numpy arrays <-> vector; returns the type's oid."""
    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        raise MissingCapability("type vector not found: is the pgvector extension installed?")
    dumper = type("BoundVectorDumper", (VectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(np.ndarray, dumper)
    conn.adapters.register_loader(info.oid, VectorLoader)
    return info.oid
