"""A comparison's HTML report, rendered live from the storage (the same document
``tunelab report`` writes, nothing written to disk), re-rendered only when one of its
runs changed."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from tunelab.dashboard.snapshots import StudySnapshot
from tunelab.storage import Storage

Fingerprint = tuple[tuple[str, int], ...]


def fingerprint(runs: Sequence[StudySnapshot]) -> Fingerprint:
    """What the report depends on: each run study and its snapshot version."""
    return tuple(sorted((s.name, s.version) for s in runs))


class ReportCache:
    """The latest rendered report per comparison."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._reports: dict[str, tuple[Fingerprint, str]] = {}
        self._lock = threading.Lock()

    def html(self, name: str, runs: Sequence[StudySnapshot]) -> str:
        """The report of comparison ``name`` as one self-contained HTML page."""
        key = fingerprint(runs)
        with self._lock:  # reports are costly (matplotlib): render one at a time
            held = self._reports.get(name)
            if held is not None and held[0] == key:
                return held[1]
            text = _render(name, self.storage)
            self._reports[name] = (key, text)
            return text


def _render(name: str, storage: Storage) -> str:
    from tunelab.compare import load_comparison
    from tunelab.report import analyse
    from tunelab.report.document import build_report, storage_folder
    from tunelab.report.render import to_html

    results = load_comparison(name, storage)
    document, _ = build_report(analyse(results), base_dir=storage_folder(results.storage_url))
    return to_html(document)
