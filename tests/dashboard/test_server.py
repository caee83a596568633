"""``tunelab dashboard`` as a real server process: errors at start, read-only, the JSON."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import tunelab as tl
from tests.compare.synthetic import png_grid
from tests.dashboard.server import cli, dashboard, request
from tunelab.dashboard.server import is_loopback
from tunelab.storage import make_storage

STUDY = "demo"
POSTGRES_URL_ENV = "TUNELAB_TEST_POSTGRES_URL"  # as in tests/storage/conftest.py


def objective(trial: tl.Trial) -> float:
    """Conditional parameters (depth only for kind b) and five reports, so ASHA prunes."""
    x = trial.hp.Float("x", -5.0, 10.0)
    lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
    kind = trial.hp.Choice("kind", ["a", "b"])
    if kind == "b":
        trial.hp.Int("depth", 1, 5)
    if trial.number == 1:  # before reporting: ASHA may stop it at its first report
        trial.set_user_attr("image_grids", {"1": base64.b64encode(png_grid(1)).decode()})
    for epoch in range(1, 6):
        trial.report(epoch, loss=(x - 2) ** 2 + 1 / epoch + lr)
    return (x - 2) ** 2 + (kind == "b")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("server") / "demo.db"
    study = tl.create_study(
        STUDY,
        metric="loss",
        mode="min",
        storage=path,
        searcher="random",
        scheduler={"name": "asha", "options": {"max_epochs": 5}},
        seed=0,
    )
    study.optimize(objective, max_trials=40, quiet=True)
    return path


@pytest.fixture(scope="module")
def url(db: Path) -> Iterator[str]:
    with dashboard(db) as (base, _):
        yield base


def get_json(url: str) -> tuple[int, dict]:
    status, _, body = request(url)
    return status, json.loads(body)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "storage",
    ["missing.db", "mysql://user@localhost/tunelab", "notes.db"],
    ids=["missing-file", "unsupported-url", "not-a-database"],
)
def test_a_bad_storage_is_one_line_on_stderr_and_exit_2(tmp_path, storage):
    (tmp_path / "notes.db").write_text("not a database\n")
    done = subprocess.run(
        cli("dashboard", "--storage", storage, "--port", "0"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunelab: error: "), done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "missing.db").exists()


def test_a_port_in_use_is_one_line_on_stderr_and_exit_2(db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            cli("dashboard", "--storage", str(db), "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"tunelab: error: cannot listen on 127.0.0.1:{port}: Address already in use"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_server_refuses_every_write_with_405(db, url, method):
    before = digest(db)
    for path in ["", "api/studies", f"api/study?name={STUDY}", "api/trial?study=demo&number=0",
                 "static/common.js", "no/such/page"]:  # fmt: skip
        status, headers, _ = request(url + path, method=method, data=b"{}")
        assert status == 405, (method, path)
        assert headers["allow"] == "GET, HEAD"
    assert digest(db) == before
    assert get_json(url + f"api/study?name={STUDY}")[0] == 200  # reads still work


def test_only_a_loopback_address_goes_without_a_warning(db):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    with dashboard(db) as (_, server):
        assert not any("warning" in line for line in server.lines)
    with dashboard(db, "--host", "0.0.0.0") as (_, server):
        warnings = [line for line in server.lines if "warning" in line]
        assert len(warnings) == 1
        assert "listens on 0.0.0.0" in warnings[0] and "no login" in warnings[0]
        assert any("http://0.0.0.0:" in line for line in server.lines)


def test_the_studies_list_says_status_trials_best_and_last_activity(db, url):
    status, data = get_json(url + "api/studies")
    assert status == 200
    (row,) = data["studies"]
    stored = make_storage(db, read_only=True).get_trials(
        make_storage(db, read_only=True).get_study(STUDY).study_id
    )
    completed = [t for t in stored if t.status is tl.TrialStatus.COMPLETED]
    best = min(completed, key=lambda t: t.value)
    assert row["status"] == "finished"
    assert row["trials"] == len(stored) == 40
    assert row["counts"]["completed"] == len(completed)
    assert row["counts"]["pruned"] == 40 - len(completed) > 0
    assert (row["best_trial"], row["best_value"]) == (best.number, best.value)
    assert row["last_activity"] == pytest.approx(max(t.ended_at for t in stored))
    assert data["comparisons"] == []


def test_every_plot_is_served_as_json(url):
    base = url + f"api/study/plot/{{}}?name={STUDY}"
    history = get_json(base.format("history"))[1]
    assert [p["number"] for p in history["points"]] == list(range(40))
    parallel = get_json(base.format("parallel"))[1]
    columns = {c["name"]: c for c in parallel["columns"]}
    assert columns["lr"]["log"] and columns["kind"]["kind"] == "categorical"
    assert any(r["params"]["depth"] is None for r in parallel["rows"])  # inactive: None
    curves = get_json(base.format("intermediate"))[1]["curves"]
    assert {c["state"] for c in curves} == {"completed", "pruned"}
    slices = get_json(base.format("slices"))[1]["slices"]
    assert {s["column"]["name"] for s in slices} == {"x", "lr", "kind", "depth"}
    contour = get_json(base.format("contour") + "&x=x&y=lr")[1]
    assert contour["points"] and contour["x"]["name"] == "x"
    importances = get_json(base.format("importances"))[1]["importances"]
    assert sum(importances.values()) == pytest.approx(1.0)
    rungs = get_json(base.format("rungs"))[1]["rows"]
    assert {"promoted", "stopped"} <= {r["outcome"] for r in rungs}
    assert get_json(base.format("lineage"))[1]["edges"] == []


def test_bad_requests_get_one_line_errors(url):
    status, body = get_json(url + "api/study?name=nope")
    assert status == 404 and body["error"].startswith("no study named 'nope'")
    status, body = get_json(url + f"api/study/plot/contour?name={STUDY}")
    assert status == 400 and "\n" not in body["error"]
    status, body = get_json(url + f"api/study/plot/pie?name={STUDY}")
    assert status == 400 and "no plot named 'pie'" in body["error"]
    status, body = get_json(url + f"api/trial?study={STUDY}&number=999")
    assert status == 404 and "no trial 999" in body["error"]


def test_the_trials_table_is_paginated_on_the_server(url):
    page = get_json(url + f"api/study/trials?name={STUDY}&offset=10&limit=5")[1]
    assert page["total"] == 40
    assert [r["number"] for r in page["rows"]] == [29, 28, 27, 26, 25]  # newest first
    pruned = get_json(url + f"api/study/trials?name={STUDY}&state=pruned&limit=500")[1]
    assert pruned["rows"] and all(r["state"] == "pruned" for r in pruned["rows"])
    best = get_json(url + f"api/study/trials?name={STUDY}&order=best&limit=1")[1]["rows"][0]
    summary = get_json(url + f"api/study?name={STUDY}")[1]
    assert best["value"] == summary["best_value"]


def test_a_trial_picture_is_served_only_when_the_trial_names_a_png(url):
    detail = get_json(url + f"api/trial?study={STUDY}&number=1")[1]
    assert detail["images"] == [{"index": 0, "label": "generated images, epoch 1"}]
    assert detail["user_attrs"]["image_grids"]["1"].endswith("characters)")  # shortened
    status, headers, body = request(url + f"api/trial/image?study={STUDY}&number=1&index=0")
    assert status == 200 and headers["content-type"] == "image/png"
    assert body == png_grid(1)
    status, _, _ = request(url + f"api/trial/image?study={STUDY}&number=1&index=1")
    assert status == 404
    status, _, _ = request(url + f"api/trial/image?study={STUDY}&number=0&index=0")
    assert status == 404


def test_the_command_runs_as_python_dash_m_tunelab_too():
    done = subprocess.run(
        [sys.executable, "-m", "tunelab", "dashboard", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    assert "--storage" in done.stdout and "--host" in done.stdout and "--port" in done.stdout


@pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_ENV),
    reason="PostgreSQL needs TUNELAB_TEST_POSTGRES_URL (scripts/test.sh starts a server)",
)
def test_a_postgresql_storage_is_served_too():
    url = os.environ[POSTGRES_URL_ENV]
    name = f"dashboard-{uuid.uuid4().hex[:12]}"
    study = tl.create_study(name, metric="loss", mode="min", storage=url, searcher="random", seed=0)
    try:
        study.optimize(objective, max_trials=6, quiet=True)
        with dashboard(url) as (base, _):
            rows = {r["name"]: r for r in get_json(base + "api/studies")[1]["studies"]}
            assert rows[name]["trials"] == 6 and rows[name]["status"] == "finished"
            history = get_json(base + f"api/study/plot/history?name={name}")[1]
            assert [p["number"] for p in history["points"]] == list(range(6))
            status, _, _ = request(base + f"api/study?name={name}", method="DELETE")
            assert status == 405
        assert len(make_storage(url).get_trials(study.study_id)) == 6
    finally:
        make_storage(url).delete_study(name)
