"""Chaos: faults injected into real studies, and what they cost.

Every scenario runs real ``tunelab`` processes on loopback storage, injects one kind of
fault at random moments, lets the study finish (resuming where a real user would) and
then counts, from the stored trials:

- expected: the study's ``max_trials``;
- completed: trials that completed (the objective never fails by itself);
- lost: configurations the budget promised that never completed (expected - completed);
- duplicated: one configuration completed twice, or more completions than the budget;
- charged: trials that used up the budget without completing, i.e. faults that were not
  the configuration's fault but were counted as if they were.

Scenarios (PostgreSQL ones when a server is given or its Debian binaries are installed):
kill -9 of the driver at random moments then resume; kill -9 of process workers
(``max_retries: 2``, what a user who wants crash resilience sets); 3 ``tunelab worker``
processes on one SQLite file / PostgreSQL database with kill -9 and restart; another
process holding the SQLite write lock for 75 s while the study runs; ``ls``, ``show``
and ``export`` of a read-only copy; a corrupt MNIST file, then the file restored and the
study rerun.

    python benchmarks/chaos.py [--trials 16] [--seed 0] [--lock-seconds 75]
        [--postgres-url URL] [--data-dir ../shared/datasets]

Exits 1 when any lost, duplicated or charged figure is not 0.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tunelab as tl
from tunelab.budget import counted_trials

ROOT = Path(__file__).resolve().parent.parent
EPOCH_SECONDS = 0.2  # three epochs per trial: kills land while trials run

OBJECTIVE = """
import time


def objective(trial):
    x = trial.hp.Float("x", -5.0, 10.0)
    y = trial.hp.Float("y", -5.0, 10.0)
    for epoch in range(1, 4):
        time.sleep({sleep})
        trial.report(epoch, loss=(x - 2) ** 2 + (y + 1) ** 2 + 1 / epoch)
    return (x - 2) ** 2 + (y + 1) ** 2
"""


@dataclass
class Row:
    scenario: str
    storage: str
    expected: int
    completed: int
    lost: int
    duplicated: int
    charged: int
    seconds: float
    note: str = ""


def tunelab(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A real ``tunelab`` command in its own process group (so kill -9 can reach it all)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tunelab.cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def spawned_workers(pid: int) -> list[int]:
    """The multiprocessing workers a driver process started (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def count(scenario: str, url: str, expected: int, seconds: float, name: str, note: str) -> Row:
    """The scenario's row, counted from study ``name``'s stored trials."""
    trials = tl.load_study(name, storage=url).trials
    completed = [t for t in trials if t.status is tl.TrialStatus.COMPLETED]
    configs = {json.dumps(t.params, sort_keys=True) for t in completed}
    duplicated = len(completed) - len(configs) + max(0, len(configs) - expected)
    charged = counted_trials(trials) - len(completed)
    return Row(
        scenario,
        "postgresql" if url.startswith("postgresql") else "sqlite",
        expected,
        len(completed),
        max(0, expected - len(configs)),
        duplicated,
        charged,
        seconds,
        note,
    )


def write_run_config(folder: Path, name: str, url: str, trials: int, extra: str = "") -> Path:
    (folder / "obj.py").write_text(OBJECTIVE.format(sleep=EPOCH_SECONDS))
    path = folder / f"{name}.yaml"
    path.write_text(
        f"study: {name}\nobjective: obj.py:objective\nmetric: loss\nsearcher: random\n"
        f"seed: 0\nstorage: {url}\nbudget: {{max_trials: {trials}}}\n{extra}"
    )
    return path


def run_to_completion(config: Path, cwd: Path, attempts: int = 5) -> bool:
    """Rerun the study as a user would until it exits 0 (False when it never does; the
    table then shows what is missing)."""
    for _ in range(attempts):
        code, err = finish(tunelab("run", config.name, "-q", cwd=cwd))
        if code == 0:
            return True
        print(f"  {config.stem}: rerun exited {code}: {err.strip().splitlines()[-1:]}")
    return False


# -- the scenarios -------------------------------------------------------------------------
def driver_kills(folder: Path, url: str, trials: int, rng: random.Random, kills: int) -> Row:
    name = "driver_kills"
    config = write_run_config(folder, name, url, trials, "executor: processes\nn_workers: 2\n")
    start = time.monotonic()
    done = 0
    for _ in range(kills):
        proc = tunelab("run", config.name, "-q", cwd=folder)
        time.sleep(rng.uniform(2.0, 5.0))  # Python and the workers start in about 2 s
        if proc.poll() is not None:
            break
        workers = spawned_workers(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done += 1
        for pid in workers:  # orphans must end by themselves once the driver is gone
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
    run_to_completion(config, folder)
    return count(
        "driver kill -9, 2 process workers",
        url,
        trials,
        time.monotonic() - start,
        name,
        f"{done} kills",
    )


def worker_kills(folder: Path, url: str, trials: int, rng: random.Random, kills: int) -> Row:
    name = "worker_kills"
    config = write_run_config(
        folder, name, url, trials, "executor: processes\nn_workers: 2\nmax_retries: 2\n"
    )
    start = time.monotonic()
    proc = tunelab("run", config.name, "-q", cwd=folder)
    done = 0
    while done < kills and proc.poll() is None:
        time.sleep(rng.uniform(0.5, 2.0))
        workers = spawned_workers(proc.pid)
        if workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(workers), signal.SIGKILL)
                done += 1
    code, err = finish(proc)
    if code != 0:
        print(f"  worker kills: driver exited {code}: {err.strip().splitlines()[-1:]}")
        run_to_completion(config, folder)
    return count(
        "process worker kill -9 (max_retries 2)",
        url,
        trials,
        time.monotonic() - start,
        name,
        f"{done} kills",
    )


def shared_workers(
    folder: Path, url: str, trials: int, rng: random.Random, kills: int, label: str
) -> Row:
    name = f"shared_{label}_{os.getpid()}"
    (folder / "obj.py").write_text(OBJECTIVE.format(sleep=EPOCH_SECONDS))
    tl.create_study(name, metric="loss", searcher="random", seed=0, storage=url)
    args = [
        *("worker", "--study", name, "--storage", url, "--objective", "obj.py:objective"),
        *("--max-trials", str(trials), "-q"),
    ]
    start = time.monotonic()
    workers = [tunelab(*args, cwd=folder) for _ in range(3)]
    done = 0
    while done < kills:
        time.sleep(rng.uniform(0.5, 2.0))
        alive = [w for w in workers if w.poll() is None]
        if not alive:
            break
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        workers[workers.index(victim)] = tunelab(*args, cwd=folder)
        done += 1
    for w in workers:
        code, err = finish(w)
        if code != 0:
            print(f"  worker exited {code}: {err.strip().splitlines()[-1:]}")
    # A worker killed last may leave its trial to the lease; one more worker finishes it.
    code, err = finish(tunelab(*args, cwd=folder))
    if code != 0:
        print(f"  final worker exited {code}: {err.strip().splitlines()[-1:]}")
    return count(
        "3 workers, kill -9 and restart",
        url,
        trials,
        time.monotonic() - start,
        name,
        f"{done} kills",
    )


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def held_lock(folder: Path, url: str, trials: int, seconds: float) -> Row:
    name = "held_lock"
    config = write_run_config(folder, name, url, trials)
    db = url.removeprefix("sqlite:///")
    start = time.monotonic()
    proc = tunelab("run", config.name, "-q", cwd=folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _completed(db, name):
        time.sleep(0.1)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, db, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None
    locker.stdout.readline()
    code, err = finish(proc, timeout=seconds + 600)
    locker.wait()
    note = f"lock held {seconds:g} s"
    if code != 0:
        note += f"; run exited {code}: {err.strip().splitlines()[-1:]}"
        run_to_completion(config, folder)
    return count(
        "another process holds the write lock", url, trials, time.monotonic() - start, name, note
    )


def _completed(db: str, name: str) -> int:
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=1)) as conn:
            row = conn.execute(
                "select count(*) from tunelab_trials t join tunelab_studies s "
                "on t.study_id = s.id where s.name = ? and t.status = 'completed'",
                (name,),
            ).fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def read_only_copy(folder: Path, source_db: Path, study: str, expected: int) -> Row:
    """``ls``, ``show`` and ``export`` of a copy on a read-only mount (or read-only files
    when no mount is possible): every stored trial must come back."""
    start = time.monotonic()
    copy_dir = folder / "readonly"
    copy_dir.mkdir()
    for suffix in ("", "-wal", "-shm"):  # a user copies what is there
        if Path(f"{source_db}{suffix}").exists():
            shutil.copy2(f"{source_db}{suffix}", copy_dir / f"study.db{suffix}")
    mounted = _mount_read_only(copy_dir)
    if not mounted:
        (copy_dir / "study.db").chmod(0o444)
        copy_dir.chmod(0o555)
    url = f"sqlite:///{copy_dir / 'study.db'}"
    notes = []
    exported = 0
    try:
        for args in (("ls", "--storage", url), ("show", study, "--storage", url)):
            code, err = finish(tunelab(*args, cwd=folder))
            notes.append(f"{args[0]} exit {code}")
            if code != 0:
                print(f"  {args[0]}: {err.strip().splitlines()[-1:]}")
        out = folder / "export.csv"
        code, err = finish(tunelab("export", study, "--storage", url, "-o", str(out), cwd=folder))
        notes.append(f"export exit {code}")
        if code == 0 and out.exists():
            import csv

            with out.open() as f:
                exported = sum(1 for row in csv.DictReader(f) if row.get("status") == "completed")
        else:
            print(f"  export: {err.strip().splitlines()[-1:]}")
    finally:
        if mounted:
            subprocess.run(["umount", str(copy_dir)], check=False)
        else:
            copy_dir.chmod(0o755)
    kind = "read-only mount" if mounted else "read-only files"
    return Row(
        f"{kind}: ls, show, export",
        "sqlite",
        expected,
        exported,
        max(0, expected - exported),
        max(0, exported - expected),
        0,
        time.monotonic() - start,
        ", ".join(notes),
    )


def _mount_read_only(folder: Path) -> bool:
    """Bind-mount ``folder`` read-only onto itself (root only); False when not possible."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    bound = subprocess.run(
        ["mount", "--bind", str(folder), str(folder)], capture_output=True, check=False
    )
    if bound.returncode != 0:
        return False
    ro = subprocess.run(
        ["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True, check=False
    )
    if ro.returncode != 0:
        subprocess.run(["umount", str(folder)], check=False)
        return False
    return True


def corrupt_dataset(folder: Path, data_dir: Path, trials: int) -> Row:
    name = "corrupt_dataset"
    local = folder / "datasets" / "mnist"
    local.mkdir(parents=True)
    for f in (data_dir / "mnist").glob("*.gz"):
        shutil.copy2(f, local / f.name)
    victim = local / "t10k-labels-idx1-ubyte.gz"
    original = victim.read_bytes()
    raw = bytearray(gzip.decompress(original))
    raw[100] ^= 0xFF
    victim.write_bytes(gzip.compress(bytes(raw)))
    url = f"sqlite:///{folder / 'corrupt.db'}"
    config = folder / f"{name}.yaml"
    config.write_text(
        f"study: {name}\ntask: mnist_mlp\ntask_options: {{epochs: 1, train_size: 300, "
        f"max_layers: 1, data_dir: {local.parent}}}\nsearcher: random\nseed: 0\n"
        f"storage: {url}\nbudget: {{max_trials: {trials}}}\nfinal_evaluation: false\n"
    )
    start = time.monotonic()
    code, err = finish(tunelab("run", config.name, "-q", cwd=folder))
    message = err.strip().splitlines()
    first = f"corrupt: exit {code}, {len(message)} line(s) on stderr"
    charged = counted_trials(tl.load_study(name, storage=url).trials)
    victim.write_bytes(original)
    run_to_completion(config, folder)
    row = count(
        "corrupt dataset, then restored",
        url,
        trials,
        time.monotonic() - start,
        name,
        f"{first}, {charged} charged while corrupt",
    )
    if message:
        print(f"  corrupt dataset said: {message[-1][:160]}")
    return row


# -- PostgreSQL ----------------------------------------------------------------------------
@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str | None]:
    """The given server, or a throwaway one from Debian's binaries, or None."""
    if url:
        yield url
        return
    if not any(Path("/usr/lib/postgresql").glob("*/bin")):
        yield None
        return
    folder = tempfile.mkdtemp(prefix="tunelab-chaos-pg.")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TUNELAB_PG_DIR": folder, "TUNELAB_PG_PORT": str(port)}
    script = str(ROOT / "scripts" / "postgres.sh")
    started = subprocess.run(
        ["bash", script, "start"], env=env, capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        print(f"PostgreSQL did not start: {started.stderr.strip()[:200]}")
        yield None
        return
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", script, "stop"], env=env, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "storage", "expected", "completed", "lost", "dup", "charged", "s")
    print()
    print(
        f"{header[0]:<42} {header[1]:<10} {header[2]:>8} {header[3]:>9} {header[4]:>5} "
        f"{header[5]:>4} {header[6]:>7} {header[7]:>6}  note"
    )
    for r in rows:
        print(
            f"{r.scenario:<42} {r.storage:<10} {r.expected:>8} {r.completed:>9} {r.lost:>5} "
            f"{r.duplicated:>4} {r.charged:>7} {r.seconds:>6.0f}  {r.note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24, help="max_trials of each study")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 per kill scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lock-seconds", type=float, default=75.0)
    parser.add_argument("--postgres-url", default=os.environ.get("TUNELAB_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TUNELAB_DATA_DIR", ROOT.parent / "shared" / "datasets")),
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tunelab-chaos.") as tmp:
        folder = Path(tmp)
        sqlite_url = f"sqlite:///{folder / 'chaos.db'}"
        for scenario in (driver_kills, worker_kills):
            rows.append(scenario(folder, sqlite_url, args.trials, rng, args.kills))
            print_table(rows[-1:])
        rows.append(shared_workers(folder, sqlite_url, args.trials, rng, args.kills, "sqlite"))
        print_table(rows[-1:])
        with postgres(args.postgres_url) as pg_url:
            if pg_url is None:
                print("PostgreSQL: not available, its scenario is skipped")
            else:
                rows.append(shared_workers(folder, pg_url, args.trials, rng, args.kills, "pg"))
                print_table(rows[-1:])
        rows.append(held_lock(folder, sqlite_url, args.trials, args.lock_seconds))
        print_table(rows[-1:])
        rows.append(read_only_copy(folder, folder / "chaos.db", "driver_kills", args.trials))
        print_table(rows[-1:])
        if (args.data_dir / "mnist").is_dir():
            rows.append(corrupt_dataset(folder, args.data_dir, min(args.trials, 3)))
        else:
            print(f"corrupt dataset: no MNIST files under {args.data_dir}, skipped")
    print_table(rows)
    bad = [r for r in rows if r.lost or r.duplicated or r.charged]
    print(f"\n{len(bad)} of {len(rows)} scenarios lost, duplicated or charged trials")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
