"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzip or plain.

An IDX file is two zero bytes, a type code, the number of dimensions, each dimension
as a big-endian uint32, then the values in big-endian C order
(http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunelab.errors import DatasetError

_TYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_CODES: dict[tuple[str, int], int] = {
    (np.dtype(v).kind, np.dtype(v).itemsize): k for k, v in _TYPES.items()
}


def parse_idx(data: bytes, source: str = "<bytes>") -> NDArray[Any]:
    """The array stored in the (uncompressed) IDX bytes ``data``; ``source`` names it in errors."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DatasetError(f"{source}: not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{source}: IDX header is cut short")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetError(
            f"{source}: IDX header promises {'x'.join(map(str, shape))} values "
            f"({expected} bytes) but the file holds {len(data) - header} bytes; "
            "it is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def encode_idx(array: NDArray[Any]) -> bytes:
    """The IDX bytes of ``array`` (uint8, int8, int16, int32, float32 or float64)."""
    arr = np.asarray(array)
    code = _CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {arr.dtype}")
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + np.ascontiguousarray(arr, dtype=np.dtype(_TYPES[code])).tobytes()


def write_idx(path: str | Path, array: NDArray[Any]) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in ``.gz``."""
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        # mtime=0 keeps the bytes (and so the checksum) the same on every write.
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
