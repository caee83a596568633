"""The GAN hook reads loss curves, image grids and the confusion matrix from a trial."""

from __future__ import annotations

import base64

from tests.compare.synthetic import png_grid
from tests.records import completed_record
from tunelab.report.gan import (
    MAX_GRIDS,
    accuracy_sentence,
    fid_floor,
    fid_text,
    floor_sentence,
    gan_view,
    is_pbt,
)


def test_nothing_named_shows_nothing():
    view = gan_view(completed_record([{"val_accuracy": 0.9, "fid": 3.0}], {"other": 1}))
    assert view.empty  # IS/FID alone are not a GAN's curves


def test_losses_grids_from_paths_and_base64_and_the_confusion_matrix(tmp_path):
    png = png_grid(1)
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "e1.png").write_bytes(png)
    (tmp_path / "abs.png").write_bytes(png_grid(2))
    attrs = {
        "image_grids": {
            "1": "grids/e1.png",  # relative to the storage folder
            "2": base64.b64encode(png).decode(),
            "3": str(tmp_path / "abs.png"),
            "4": "data:image/png;base64," + base64.b64encode(png).decode(),
        },
        "confusion_matrix": [[8, 2], [3, 7]],
    }
    reports = [{"g_loss": 2.0 - i, "d_loss": 0.5 + i, "inception_score": 2.0 + i} for i in range(3)]
    view = gan_view(completed_record(reports, attrs), base_dir=tmp_path)
    assert view.problems == []  # all four read; the first, a middle and the last are shown
    assert [e for e, _ in view.grids] == [1, 3, 4]
    assert view.grids[0][1] == png and view.grids[1][1] == png_grid(2)
    assert view.grids[2][1] == png
    assert view.curves["g_loss"] == [(1, 2.0), (2, 1.0), (3, 0.0)]
    assert set(view.curves) == {"g_loss", "d_loss", "inception_score"}
    assert view.confusion == (["real", "generated"], [[8.0, 2.0], [3.0, 7.0]])


def test_unreadable_values_are_reported_not_raised(tmp_path):
    (tmp_path / "text.png").write_text("not a png")
    attrs = {
        "image_grids": {
            "1": "missing.png",
            "2": str(tmp_path / "text.png"),
            "x": "a.png",
            "3": 42,
            "4": "data:image/png;base64,aGVsbG8=",
        },
        "confusion_matrix": {"labels": ["real", "fake", "other"], "matrix": [[1, 2], [3, 4]]},
    }
    view = gan_view(completed_record([], attrs), base_dir=tmp_path)
    assert view.grids == [] and view.confusion is None
    text = "\n".join(view.problems)
    assert "image_grids[1]: no readable file at" in text
    assert "text.png is not a PNG" in text
    assert "epoch 'x' is not a number" in text
    assert "image_grids[3]: not a path or a base64 PNG: int" in text
    assert "a data URI that does not hold a PNG" in text
    assert "confusion_matrix is not 3x3" in text
    assert not view.empty


def test_many_grids_are_thinned_evenly_keeping_first_and_last():
    png = base64.b64encode(png_grid(0)).decode()
    view = gan_view(completed_record([], {"image_grids": {str(e): png for e in range(1, 21)}}))
    epochs = [e for e, _ in view.grids]
    assert MAX_GRIDS == 3 and epochs == [1, 11, 20]  # the first, a middle and the last


def test_the_fid_floor_is_read_when_stored_and_called_unknown_when_not():
    with_floor = [completed_record([{"fid": 50.0}], {"fid_floor": f}) for f in (30.0, 32.0, 31.0)]
    assert fid_floor(with_floor) == 31.0
    assert fid_text(45.24, 31.0) == "45.2 (real-vs-real floor 31.0)"
    assert "FID real-vs-real floor: 31.0." in floor_sentence(31.0)
    without = [completed_record([{"fid": 50.0}], {"fid_floor": "n/a"}), completed_record([], {})]
    assert fid_floor(without) is None
    assert fid_text(45.24, None) == "45.2 (real-vs-real floor unknown)"
    assert floor_sentence(None).startswith("FID real-vs-real floor: unknown")


def test_the_discriminators_accuracy_on_real_and_generated_images_of_the_last_epoch():
    reports = [
        {"g_loss": 1.0, "d_real_accuracy": 0.5, "d_fake_accuracy": 0.5},
        {"g_loss": 0.9, "d_real_accuracy": 0.625, "d_fake_accuracy": 0.875, "d_accuracy": 0.75},
    ]
    view = gan_view(completed_record(reports, {}))
    assert view.last_step == 2
    text = accuracy_sentence(view)
    assert text is not None and "last epoch (2)" in text
    assert "on real images 62.5% (d_real_accuracy)" in text
    assert "on generated images 87.5% (d_fake_accuracy)" in text
    assert "on both 75.0% (d_accuracy)" in text
    assert accuracy_sentence(gan_view(completed_record([{"g_loss": 1.0}], {}))) is None


def test_pbt_is_told_by_the_scheduler_or_by_the_lineage():
    assert is_pbt({"scheduler": "pbt"}) and is_pbt({"scheduler": {"name": "PBT"}})
    assert not is_pbt({"scheduler": None}) and not is_pbt({"scheduler": {"name": "hyperband"}})
    member = completed_record([], {})
    member.meta["scheduler"] = {"pbt_member": 0}
    assert is_pbt({"scheduler": {"name": "custom"}}, [member])
