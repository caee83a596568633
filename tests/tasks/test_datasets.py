"""MNIST / Fashion-MNIST files: found, verified, downloaded, and clear errors otherwise."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tunelab.errors import ConfigError, DatasetError
from tunelab.tasks.data import find_overlaps
from tunelab.tasks.datasets import (
    FASHION_MNIST,
    MNIST,
    IdxDataset,
    ensure_files,
    load_idx_dataset,
    load_image_splits,
    resolve_data_dir,
    user_cache_dir,
)
from tunelab.tasks.idx import write_idx

from .fake_idx import fake_images, with_checksums, write_fake_dataset

NAMES = [f.name for f in MNIST.files]
CLOSED_PORT_URL = "http://127.0.0.1:9/"  # the discard port: nothing listens, refused at once


@pytest.fixture
def mnist_copy(data_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the real MNIST folder (the shared one is read-only)."""
    shutil.copytree(data_dir / "mnist", tmp_path / "mnist")
    return tmp_path


# -- where the files are --------------------------------------------------------------------
def test_data_dir_comes_from_argument_then_env_then_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("TUNELAB_DATA_DIR")
    monkeypatch.delenv("TUNELAB_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "tunelab" / "datasets"
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(tmp_path / "cache"))
    assert user_cache_dir() == tmp_path / "cache"
    assert resolve_data_dir() == tmp_path / "cache" / "datasets"


def test_real_mnist_loads_verified(data_dir: Path) -> None:
    data = load_idx_dataset(MNIST, data_dir, download=False)
    assert data.x_train.shape == (60000, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (10000, 28, 28)
    assert data.y_train.dtype == np.int64
    assert np.bincount(data.y_test).tolist()[:3] == [980, 1135, 1032]
    assert not data.x_train.flags.writeable
    assert load_idx_dataset(MNIST, data_dir) is data, "kept in memory for the process"


def test_env_var_points_the_loader_at_the_data(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(data_dir))
    assert ensure_files(MNIST, download=False)["t10k-labels-idx1-ubyte.gz"].is_file()


def test_published_checksums_are_accepted_as_well_as_the_content(mnist_copy: Path) -> None:
    # The shared copy is re-compressed: its .gz digests are not the published ones, so it
    # passes on the content digest. A file with a published .gz digest passes on that.
    path = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    published = hashlib.sha256(path.read_bytes()).hexdigest()
    assert published not in MNIST.test_labels.sha256
    fake = mnist_copy / "fake"
    digests = write_fake_dataset(fake / "mnist", MNIST)
    data = load_idx_dataset(with_checksums(MNIST, digests), fake, download=False)
    assert data.x_train.shape == (600, 28, 28)


def test_mnist_splits_have_no_overlap_and_a_sealed_test_part(data_dir: Path) -> None:
    splits = load_image_splits("mnist", data_dir, seed=0, val_fraction=0.2, train_size=3000)
    assert splits.sizes == {"train": 2400, "val": 600, "test": 10000}
    assert find_overlaps(splits) == {"train/val": 0, "train/test": 0, "val/test": 0}
    assert splits.test.is_sealed and splits.test.openings == []
    counts = np.bincount(splits.y_val, minlength=10)
    full = np.bincount(load_idx_dataset(MNIST, data_dir).y_train)
    assert np.all(np.abs(counts - full * 600 / 60000) <= 1)
    with pytest.raises(ConfigError, match="unknown dataset 'kmnist'"):
        load_image_splits("kmnist", data_dir)


# -- bad files --------------------------------------------------------------------------------
def test_checksum_mismatch_names_the_file_and_both_digests(mnist_copy: Path) -> None:
    path = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels = np.frombuffer(gzip.decompress(path.read_bytes())[8:], dtype=np.uint8).copy()
    labels[0] = (labels[0] + 1) % 10  # one label changed: still a valid IDX file
    write_idx(path, labels)
    with pytest.raises(DatasetError) as info:
        load_idx_dataset(MNIST, mnist_copy, download=False)
    message = str(info.value)
    assert str(path) in message
    assert "checksum mismatch" in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() in message
    assert MNIST.test_labels.content_sha256 in message
    assert "delete it" in message


def test_truncated_file_is_reported_as_truncated(mnist_copy: Path) -> None:
    path = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: not a complete gzip"):
        load_idx_dataset(MNIST, mnist_copy, download=False)


def test_missing_files_are_named_with_where_to_put_them(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError) as info:
        ensure_files(MNIST, tmp_path, download=False)
    message = str(info.value)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert name in message
    assert "missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, " in message
    assert "missing t10k-labels" not in message
    assert str(tmp_path / "mnist") in message
    assert "TUNELAB_DATA_DIR" in message
    assert "Downloading is switched off" in message


def test_failed_download_names_files_urls_and_reasons(tmp_path: Path) -> None:
    offline = IdxDataset(**{**MNIST.__dict__, "urls": (CLOSED_PORT_URL,)})
    start = time.perf_counter()
    with pytest.raises(DatasetError) as info:
        load_idx_dataset(offline, tmp_path, timeout=2.0)
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert f"MNIST: missing {', '.join(NAMES)} in {tmp_path / 'mnist'}" in message
    assert "Downloading failed" in message
    assert CLOSED_PORT_URL + "train-images-idx3-ubyte.gz" in message
    assert "refused" in message.lower()
    assert "not tried (unreachable" in message, "a dead host is not retried for every file"
    assert not list((tmp_path / "mnist").glob("*.part")), "no partial file left behind"


def test_download_gives_up_after_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"http://127.0.0.1:{port}/"
        stalled = IdxDataset(**{**FASHION_MNIST.__dict__, "urls": (url,)})
        start = time.perf_counter()
        with pytest.raises(DatasetError, match=r"timed out") as info:
            ensure_files(stalled, tmp_path, timeout=0.5)
        assert time.perf_counter() - start < 5
    assert str(tmp_path / "fashion-mnist") in str(info.value)


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on localhost serving a folder."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        server.server_close()


def test_missing_files_are_downloaded_verified_and_kept(
    http_folder: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = http_folder
    digests = write_fake_dataset(served, FASHION_MNIST)
    dataset = with_checksums(FASHION_MNIST, digests, urls=(CLOSED_PORT_URL, url))
    data = load_idx_dataset(dataset, tmp_path / "data")
    for item in dataset.files:
        kept = tmp_path / "data" / "fashion-mnist" / item.name
        assert kept.read_bytes() == (served / item.name).read_bytes()
    assert data.x_train.shape == (600, 28, 28) and data.y_test.shape == (200,)


def test_a_corrupt_download_is_rejected_and_not_kept(
    http_folder: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = http_folder
    digests = write_fake_dataset(served, FASHION_MNIST)
    images, _ = fake_images(10, seed=9)
    write_idx(served / "t10k-images-idx3-ubyte.gz", images)  # not what the digest promises
    dataset = with_checksums(FASHION_MNIST, digests, urls=(url,))
    with pytest.raises(DatasetError) as info:
        ensure_files(dataset, tmp_path)
    message = str(info.value)
    assert "missing t10k-images-idx3-ubyte.gz in" in message
    assert f"{url}t10k-images-idx3-ubyte.gz: checksum mismatch" in message
    kept = sorted(p.name for p in (tmp_path / "fashion-mnist").iterdir())
    assert kept == sorted(n for n in digests if n != "t10k-images-idx3-ubyte.gz")


# -- Fashion-MNIST --------------------------------------------------------------------------
def test_fashion_mnist_files_must_match_the_published_checksums(tmp_path: Path) -> None:
    write_fake_dataset(tmp_path / "fashion-mnist", FASHION_MNIST)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: checksum mismatch"):
        load_idx_dataset(FASHION_MNIST, tmp_path, download=False)


def test_fashion_mnist_layout_and_splits(tmp_path: Path) -> None:
    digests = write_fake_dataset(tmp_path / "fashion-mnist", FASHION_MNIST)
    dataset = with_checksums(FASHION_MNIST, digests)
    splits = load_image_splits(dataset, tmp_path, seed=0, val_fraction=0.25, download=False)
    assert splits.name == "fashion-mnist"
    assert splits.sizes == {"train": 450, "val": 150, "test": 200}
    assert find_overlaps(splits) == {"train/val": 0, "train/test": 0, "val/test": 0}
    x_test, y_test = fake_images(200, seed=2)
    with splits.test.unsealed("check") as (x, y):
        assert np.array_equal(x, x_test) and np.array_equal(y, y_test)
