"""The IDX format: what is written reads back; broken files are named in the error."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tunelab.errors import DatasetError
from tunelab.tasks.idx import encode_idx, parse_idx, write_idx


@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-3, 0, 5], dtype=np.int8),
        np.array([[-300, 7], [2, 1]], dtype=np.int16),
        np.arange(5, dtype=np.int32) - 2,
        np.linspace(0, 1, 6, dtype=np.float32).reshape(3, 2),
        np.array([1e-300, 2.5]),
    ],
)
def test_round_trip(array: np.ndarray) -> None:
    back = parse_idx(encode_idx(array))
    assert back.dtype == array.dtype
    assert np.array_equal(back, array)


def test_header_is_the_published_layout() -> None:
    data = encode_idx(np.zeros((2, 28, 28), dtype=np.uint8))
    assert data[:4] == bytes([0, 0, 0x08, 3])
    assert data[4:16] == (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    assert len(data) == 16 + 2 * 28 * 28


def test_real_mnist_labels_survive_a_rewrite(data_dir: Path, tmp_path: Path) -> None:
    original = gzip.decompress((data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    labels = parse_idx(original)
    assert labels.shape == (10000,)
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert encode_idx(labels) == original
    path = write_idx(tmp_path / "labels.gz", labels)
    assert gzip.decompress(path.read_bytes()) == original
    assert path.read_bytes() == write_idx(tmp_path / "again.gz", labels).read_bytes()


def test_bad_files_raise_dataset_errors_naming_the_source() -> None:
    good = encode_idx(np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"f\.idx: not an IDX file"):
        parse_idx(b"\x01\x02\x08\x02" + good[4:], source="f.idx")
    with pytest.raises(DatasetError, match=r"f\.idx: IDX header promises 3x4 values.*truncated"):
        parse_idx(good[:-1], source="f.idx")
    with pytest.raises(DatasetError, match="header is cut short"):
        parse_idx(good[:6], source="f.idx")
    with pytest.raises(ValueError, match="cannot store"):
        encode_idx(np.zeros(3, dtype=np.complex64))
