"""The dashboard's routes: four pages, the JSON they poll, pictures, and the charting
library's JavaScript (served from the plotly package: nothing comes from the internet).

Pages (HTML shells; their scripts fetch the JSON and redraw when it changes):
``/`` the studies and comparisons, ``/study?name=S``, ``/trial?study=S&number=N``,
``/comparison?name=C``. JSON: ``/api/studies``, ``/api/study?name=S``,
``/api/study/trials?name=S&offset=&limit=&state=&order=``,
``/api/study/plot/KIND?name=S`` (KIND: history, intermediate, parallel, slices,
contour with ``&x=&y=``, importances, rungs, lineage), ``/api/trial?study=S&number=N``,
``/api/trial/image?study=S&number=N&index=I`` (PNG), ``/api/comparison?name=C``,
``/comparison/report?name=C`` (the report's HTML).

Read-only twice over: the storage is opened read-only, and any request but GET (or
HEAD) is answered 405 before it reaches a route.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tunelab.dashboard import views
from tunelab.dashboard.comparisons import ReportCache
from tunelab.dashboard.images import image_png, trial_images
from tunelab.dashboard.plots import PlotCache
from tunelab.dashboard.snapshots import SnapshotCache, StudySnapshot
from tunelab.errors import ConfigError, StorageError, StudyNotFoundError, TunelabError
from tunelab.storage import Storage

READ_METHODS = ("GET", "HEAD")
PAGES = {"/": "index.html", "/study": "study.html", "/trial": "trial.html",
         "/comparison": "comparison.html"}  # fmt: skip


class ReadOnlyMiddleware:
    """Answer 405 to every request that is not a read, whatever its path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READ_METHODS:
            response = PlainTextResponse(
                "the tunelab dashboard is read-only\n",
                status_code=405,
                headers={"Allow": ", ".join(READ_METHODS)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class JSON(JSONResponse):
    """Compact JSON, no NaN (the payloads have None there already)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


@cache
def _package_text(folder: str, name: str) -> str:
    return (resources.files("tunelab.dashboard") / folder / name).read_text(encoding="utf-8")


@cache
def plotly_js() -> tuple[str, bytes, bytes]:
    """plotly.js as the plotly wheel ships it: its version, the bytes, and them gzipped."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    data = get_plotlyjs().encode("utf-8")
    return get_plotlyjs_version(), data, gzip.compress(data, compresslevel=6)


class Dashboard:
    """The state behind the routes: one read-only storage and the caches over it."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.snapshots = SnapshotCache(storage)
        self.plots = PlotCache(storage)
        self.reports = ReportCache(storage)

    def warm_up(self) -> None:
        """Read every study once, so the first visit finds them read (run it in a thread
        when the server starts; a failure here shows again, with its message, on a page)."""
        with contextlib.suppress(TunelabError):
            self._all()

    # -- helpers ---------------------------------------------------------------------------
    def _all(self) -> list[StudySnapshot]:
        found = []
        for summary in self.storage.list_studies():
            try:
                found.append(self.snapshots.snapshot(summary.name))
            except StudyNotFoundError:  # deleted between the listing and the read
                continue
        return found

    def _study(self, request: Request, key: str = "name") -> StudySnapshot:
        name = request.query_params.get(key)
        if not name:
            raise ConfigError(f"name the study: ?{key}=NAME")
        return self.snapshots.snapshot(name)

    @staticmethod
    def _int(request: Request, key: str, default: int | None = None) -> int:
        text = request.query_params.get(key)
        if text is None or text == "":
            if default is None:
                raise ConfigError(f"missing ?{key}=N")
            return default
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"?{key}= must be an integer, got {text!r}") from None

    def _trial(self, request: Request) -> tuple[StudySnapshot, Any]:
        snapshot = self._study(request, "study")
        number = self._int(request, "number")
        trial = snapshot.trial(number)
        if trial is None:
            raise StudyNotFoundError(f"study {snapshot.name!r} has no trial {number}")
        return snapshot, trial

    # -- routes ----------------------------------------------------------------------------
    def page(self, request: Request) -> Response:
        return HTMLResponse(_package_text("templates", PAGES[request.url.path]))

    def studies(self, request: Request) -> Response:
        now = time.time()
        snapshots = self._all()
        return JSON(
            {
                "storage": self.storage.url,
                "now": now,
                "studies": [
                    views.study_row(s, now) for s in snapshots if views.comparison_of(s) is None
                ],
                "comparisons": views.comparison_rows(snapshots, now),
            }
        )

    def study(self, request: Request) -> Response:
        return JSON(views.study_summary(self._study(request), time.time()))

    def trials(self, request: Request) -> Response:
        snapshot = self._study(request)
        state = request.query_params.get("state")
        order = request.query_params.get("order", "-number")
        if order not in ("number", "-number", "value", "-value", "best"):
            raise ConfigError(f"?order= must be number, -number, value, -value or best: {order}")
        page = views.trials_page(
            snapshot,
            offset=self._int(request, "offset", 0),
            limit=self._int(request, "limit", 50),
            states=set(state.split(",")) if state else None,
            order=order,  # type: ignore[arg-type]
        )
        return JSON(page)

    def plot(self, request: Request) -> Response:
        snapshot = self._study(request)
        args = {k: v for k, v in request.query_params.items() if k != "name"}
        return JSON(self.plots.payload(snapshot, request.path_params["kind"], args))

    def trial(self, request: Request) -> Response:
        snapshot, trial = self._trial(request)
        return JSON(views.trial_detail(snapshot, trial))

    def image(self, request: Request) -> Response:
        _, trial = self._trial(request)
        images = trial_images(trial)
        index = self._int(request, "index")
        if not 0 <= index < len(images):
            raise StudyNotFoundError(f"trial {trial.number} has no picture {index}")
        data = image_png(images[index], self.storage.url)
        if isinstance(data, str):
            return PlainTextResponse(data, status_code=404)
        return Response(data, media_type="image/png", headers={"Cache-Control": "no-cache"})

    def _runs(self, request: Request) -> tuple[str, list[StudySnapshot]]:
        name = request.query_params.get("name")
        if not name:
            raise ConfigError("name the comparison: ?name=NAME")
        runs = [s for s in self._all() if views.comparison_of(s) == name]
        if not runs:
            raise StudyNotFoundError(f"no comparison named {name!r} in {self.storage.url}")
        return name, runs

    def comparison(self, request: Request) -> Response:
        now = time.time()
        name, runs = self._runs(request)
        rows = [views.comparison_run_row(s, now) for s in runs]
        version = "-".join(str(s.version) for s in runs)
        return JSON({"name": name, "runs": rows, "version": version, "now": now})

    def report(self, request: Request) -> Response:
        name, runs = self._runs(request)
        try:
            return HTMLResponse(self.reports.html(name, runs))
        except TunelabError as exc:
            return HTMLResponse(f"<p>No report yet: {escape(str(exc))}</p>", status_code=200)

    def plotly(self, request: Request) -> Response:
        version, data, zipped = plotly_js()
        headers = {"Cache-Control": "public, max-age=86400", "X-Plotly-Version": version}
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(zipped, media_type="text/javascript", headers=headers)
        return Response(data, media_type="text/javascript", headers=headers)


async def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StudyNotFoundError):
        status = 404
    elif isinstance(exc, StorageError):
        status = 503
    else:
        status = 400
    return JSON({"error": str(exc)}, status_code=status)


def create_app(storage: Storage, *, warm_up: bool = False) -> Starlette:
    """The dashboard over ``storage`` (open it read-only: nothing here writes).
    ``warm_up``: start reading every study now, in a background thread."""
    d = Dashboard(storage)
    if warm_up:
        threading.Thread(target=d.warm_up, name="tunelab-dashboard-warm-up", daemon=True).start()
    routes = [
        *(Route(path, d.page, methods=["GET"]) for path in PAGES),
        Route("/api/studies", d.studies, methods=["GET"]),
        Route("/api/study", d.study, methods=["GET"]),
        Route("/api/study/trials", d.trials, methods=["GET"]),
        Route("/api/study/plot/{kind}", d.plot, methods=["GET"]),
        Route("/api/trial", d.trial, methods=["GET"]),
        Route("/api/trial/image", d.image, methods=["GET"]),
        Route("/api/comparison", d.comparison, methods=["GET"]),
        Route("/comparison/report", d.report, methods=["GET"]),
        Route("/assets/plotly.min.js", d.plotly, methods=["GET"]),
        Route("/favicon.ico", lambda _: Response(status_code=204), methods=["GET"]),
        Mount(
            "/static",
            StaticFiles(packages=[("tunelab.dashboard", "static")]),
            name="static",
        ),
    ]
    app = Starlette(routes=routes, exception_handlers={TunelabError: _error})
    app.add_middleware(ReadOnlyMiddleware)
    return app
