"""MNIST and Fashion-MNIST from their standard IDX .gz files: find, download, verify, load.

Where the files live: the ``data_dir`` argument, else the ``TUNELAB_DATA_DIR``
environment variable, else a user cache folder (``$XDG_CACHE_HOME/tunelab/datasets``,
``~/.cache/tunelab/datasets`` by default). Each dataset has its own sub-folder with the
four files under their standard names::

    <data_dir>/mnist/train-images-idx3-ubyte.gz    (and the other three)
    <data_dir>/fashion-mnist/train-images-idx3-ubyte.gz

Missing files are downloaded from the dataset's public locations into that folder
(written to a ``.part`` file, verified, then renamed), when the network allows; when it
does not, :class:`~tunelab.errors.DatasetError` names the files, the folder, the URLs
tried and why each failed. Every file is verified by SHA-256 before use: a file passes
when the digest of the .gz is a published one, or when the digest of its uncompressed
content is the known one (MNIST only; it keeps re-compressed copies valid).
Loaded arrays are kept in memory per process, keyed by the files' size and mtime.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import urllib.error
import urllib.request
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunelab.errors import ConfigError, DatasetError
from tunelab.tasks.data import DatasetSplits, make_train_val_splits
from tunelab.tasks.idx import parse_idx

DATA_DIR_ENV = "TUNELAB_DATA_DIR"
CACHE_DIR_ENV = "TUNELAB_CACHE_DIR"


@dataclass(frozen=True)
class IdxFile:
    """One IDX .gz file and the SHA-256 digests that make it valid.

    ``sha256``: accepted digests of the .gz file itself (the published ones).
    ``content_sha256``: digest of the uncompressed content, or None when unknown.
    """

    name: str
    sha256: tuple[str, ...]
    content_sha256: str | None = None


@dataclass(frozen=True)
class IdxDataset:
    """A dataset published as four IDX .gz files (train/test images and labels)."""

    name: str
    folder: str
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    urls: tuple[str, ...]
    homepage: str

    @property
    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


MNIST = IdxDataset(
    name="MNIST",
    folder="mnist",
    train_images=IdxFile(
        "train-images-idx3-ubyte.gz",
        ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte.gz",
        ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte.gz",
        ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    # yann.lecun.com is the original home but often refuses downloads; PyTorch's and
    # Google's mirrors serve the same files.
    urls=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
)

FASHION_MNIST = IdxDataset(
    name="Fashion-MNIST",
    folder="fashion-mnist",
    train_images=IdxFile(
        "train-images-idx3-ubyte.gz",
        ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",),
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte.gz",
        ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",),
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte.gz",
        ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",),
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",),
    ),
    urls=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)

IDX_DATASETS: dict[str, IdxDataset] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}


@dataclass(frozen=True)
class ImageData:
    """A dataset's official parts as uint8 images (n, 28, 28) and int64 labels."""

    x_train: NDArray[np.uint8]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.uint8]
    y_test: NDArray[np.int64]


def user_cache_dir() -> Path:
    """tunelab's cache folder: ``TUNELAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/tunelab``,
    else ``~/.cache/tunelab``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "tunelab"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: the argument, else ``TUNELAB_DATA_DIR``, else the user cache."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return user_cache_dir() / "datasets"


def _missing_message(dataset: IdxDataset, folder: Path, missing: list[str], why: str) -> str:
    names = ", ".join(missing)
    return (
        f"{dataset.name}: missing {names} in {folder}. {why}\n"
        f"Download the four files ({', '.join(f.name for f in dataset.files)}) from "
        f"{dataset.urls[0]} (see {dataset.homepage}) and put them in {folder}, or point "
        f"{DATA_DIR_ENV} (or the task's data_dir option) at a folder that holds "
        f"{dataset.folder}/ with them."
    )


def ensure_files(
    dataset: IdxDataset,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """The paths of ``dataset``'s four files, downloading the missing ones if allowed.

    Raises :class:`DatasetError` naming the missing files, the folder and, when a
    download was tried, every URL and why it failed. Does not verify existing files
    (:func:`load_idx_dataset` does, as it reads them).
    """
    folder = resolve_data_dir(data_dir) / dataset.folder
    paths = {f.name: folder / f.name for f in dataset.files}
    missing = [f for f in dataset.files if not paths[f.name].is_file()]
    if not missing:
        return paths
    if not download:
        raise DatasetError(
            _missing_message(
                dataset, folder, [f.name for f in missing], "Downloading is switched off."
            )
        )
    failures: list[str] = []
    unreachable: dict[str, str] = {}
    for item in missing:
        error = _download_one(dataset, item, folder, timeout, unreachable)
        if error is not None:
            failures.append(error)
    still_missing = [f.name for f in dataset.files if not paths[f.name].is_file()]
    if still_missing:
        why = "Downloading failed:\n  " + "\n  ".join(failures)
        raise DatasetError(_missing_message(dataset, folder, still_missing, why))
    return paths


def _download_one(
    dataset: IdxDataset, item: IdxFile, folder: Path, timeout: float, unreachable: dict[str, str]
) -> str | None:
    """Fetch ``item`` from the first URL that serves a valid copy; None, or why all failed.

    A host that could not be reached (no route, no name, timeout) is recorded in
    ``unreachable`` and not tried again for the other files.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{item.name}: cannot create {folder}: {exc}"
    target = folder / item.name
    part = folder / f"{item.name}.part"
    reasons = []
    for base in dataset.urls:
        url = base + item.name
        if base in unreachable:
            reasons.append(f"{url}: not tried ({unreachable[base]})")
            continue
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            _verify(item, part.read_bytes(), source=url)
        except urllib.error.HTTPError as exc:  # the host answered: this file is not there
            reasons.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, OSError) as exc:  # no route, no name, timeout...
            reason = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            unreachable[base] = f"unreachable: {reason}"
            reasons.append(f"{url}: {reason}")
        except DatasetError as exc:
            reasons.append(str(exc))
        else:
            os.replace(part, target)
            return None
        part.unlink(missing_ok=True)
    return f"{item.name}: " + "; ".join(reasons)


def _verify(item: IdxFile, raw: bytes, source: str) -> bytes:
    """Check ``raw`` (the .gz bytes) against ``item``'s digests; return the uncompressed bytes."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        content = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(
            f"{source}: not a complete gzip file ({exc}); it is truncated or corrupt. "
            "Delete it and run again to download it, or replace it with the original."
        ) from None
    if digest in item.sha256:
        return content
    content_digest = hashlib.sha256(content).hexdigest()
    if item.content_sha256 is not None and content_digest == item.content_sha256:
        return content
    expected = f"SHA-256 {' or '.join(item.sha256)}"
    if item.content_sha256 is not None:
        expected += f" (or uncompressed content {item.content_sha256})"
    raise DatasetError(
        f"{source}: checksum mismatch: SHA-256 is {digest} (uncompressed content "
        f"{content_digest}), expected {expected}. The file is corrupt or not the original "
        "dataset file; delete it and run again to download it, or replace it with the original."
    )


_CACHE: OrderedDict[tuple[Any, ...], ImageData] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def load_idx_dataset(
    dataset: IdxDataset,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    timeout: float = 30.0,
) -> ImageData:
    """Find (or download), verify and read ``dataset``'s four files.

    Verified arrays stay in memory for this process; changing a file (size or mtime)
    reads and verifies it again.
    """
    paths = ensure_files(dataset, data_dir, download=download, timeout=timeout)
    key: tuple[Any, ...] = (dataset,)
    for f in dataset.files:
        stat = paths[f.name].stat()
        key += (str(paths[f.name].resolve()), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    arrays = []
    for f in dataset.files:
        path = paths[f.name]
        content = _verify(f, path.read_bytes(), source=str(path))
        arrays.append(parse_idx(content, source=str(path)))
    x_train, y_train, x_test, y_test = arrays
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(
                f"{dataset.name}: {part} images have shape {x.shape} and labels {y.shape}; "
                "expected (n, rows, cols) images and n labels"
            )
    data = ImageData(
        x_train=x_train.astype(np.uint8, copy=False),
        y_train=y_train.astype(np.int64),
        x_test=x_test.astype(np.uint8, copy=False),
        y_test=y_test.astype(np.int64),
    )
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        array.setflags(write=False)
    with _CACHE_LOCK:
        _CACHE[key] = data
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data


def load_image_splits(
    dataset: IdxDataset | str,
    data_dir: str | Path | None = None,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    train_size: int | None = None,
    download: bool = True,
) -> DatasetSplits:
    """Leak-free splits of an IDX dataset: the official test part, sealed; the training
    part (or a stratified ``train_size`` subset of it) split into train and validation.

    Images stay uint8 of shape (n, 28, 28); tasks scale them as they need.
    """
    if isinstance(dataset, str):
        if dataset not in IDX_DATASETS:
            raise ConfigError(
                f"unknown dataset {dataset!r}; available: {', '.join(sorted(IDX_DATASETS))}"
            )
        dataset = IDX_DATASETS[dataset]
    data = load_idx_dataset(dataset, data_dir, download=download)
    return make_train_val_splits(
        data.x_train,
        data.y_train,
        data.x_test,
        data.y_test,
        val_fraction=val_fraction,
        seed=seed,
        name=dataset.folder,
        train_size=train_size,
    )
