"""Reading a comparison back from storage."""

from __future__ import annotations

import pytest

from tests.compare.synthetic import TASK
from tunelab.compare import compare, comparison_names, load_comparison
from tunelab.errors import ConfigError, StudyNotFoundError
from tunelab.storage import make_storage


def small(name: str, storage: object) -> None:
    compare(
        TASK,
        ["random"],
        budget={"epochs": 4},
        repeats=1,
        name=name,
        storage=storage,
        task_options={"epochs": 2},
        quiet=True,
    )


def test_find_comparisons_by_name_or_as_the_only_one(tmp_path):
    storage = make_storage(tmp_path / "c.db")
    with pytest.raises(StudyNotFoundError, match="no comparison in"):
        load_comparison(storage=storage)
    small("first", storage)
    storage.create_study(
        "plain/study/0", metric="m", mode="min", searcher={}, scheduler={}, space={}
    )
    assert comparison_names(storage) == ["first"]
    assert load_comparison(storage=storage).name == "first"
    small("second", storage)
    assert comparison_names(storage) == ["first", "second"]
    with pytest.raises(ConfigError, match=r"several comparisons \(first, second\); name one"):
        load_comparison(storage=storage)
    second = load_comparison("second", storage)
    assert [r.study_name for r in second.runs] == ["second/random/0"]
    with pytest.raises(StudyNotFoundError, match="no comparison named 'third'"):
        load_comparison("third", storage)


def test_an_unfinished_comparison_reads_as_far_as_it_got(tmp_path):
    storage = make_storage(tmp_path / "c.db")
    small("cmp", storage)
    record = storage.get_study("cmp/random/0")
    manifest = dict(record.user_attrs["tunelab.compare.manifest"])
    manifest["repeats"] = 3
    manifest["written_at"] += 1
    storage.set_study_user_attr(record.study_id, "tunelab.compare.manifest", manifest)
    results = load_comparison("cmp", storage)
    strategy = results.strategy("random")
    assert strategy.status == "partial" and len(strategy.finished) == 1
    assert results.repeats == 3
