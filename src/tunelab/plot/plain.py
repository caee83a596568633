"""The base of the plot data: dataclasses whose ``to_dict()`` is JSON-able."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any


def jsonable(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None and tuples by lists (JSON-able)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


class PlainData:
    """Mixed into the frozen dataclasses of :mod:`tunelab.plot.data`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: numbers, strings, booleans, None, lists and dicts only."""
        out: dict[str, Any] = jsonable(asdict(self))  # type: ignore[call-overload]
        return out
