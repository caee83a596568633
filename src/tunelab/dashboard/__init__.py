"""A live, read-only web dashboard of a storage's studies (``tunelab dashboard``).

Pages: the studies and comparisons in the storage; one study (every plot of
:mod:`tunelab.plot`, drawn in the browser with plotly.js: zoom, hover for a trial's
configuration, filter by state); one trial (its configuration, reports as curves, user
attributes, a GAN trial's image grids and loss curves); one comparison (its report,
rendered live). Pages poll JSON every 2 seconds and redraw what changed, so a running
study updates without a reload. Needs the ``dashboard`` extra
(``pip install 'tunelab[dashboard]'``: Starlette, uvicorn, plotly, matplotlib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from tunelab.storage import Storage

__all__ = ["create_app", "serve"]


def create_app(storage: Storage) -> Starlette:
    """The ASGI app over ``storage`` (see :mod:`tunelab.dashboard.app`)."""
    from tunelab.dashboard.app import create_app as create

    return create(storage)


def serve(storage: Storage, **options: Any) -> None:
    """Serve until interrupted (see :func:`tunelab.dashboard.server.serve`)."""
    from tunelab.dashboard.server import serve as run

    run(storage, **options)
