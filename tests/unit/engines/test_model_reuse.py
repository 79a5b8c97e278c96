"""A saved model is reused only beside an equal data fingerprint, and never after it was invalidated."""

from __future__ import annotations

from pathlib import Path

from prometheus.engines.model_reuse import fingerprint_path, invalidate, reusable, write_fingerprint


def test_reusable_when_file_and_equal_fingerprint_present_and_not_otherwise(tmp_path: Path) -> None:
    model = tmp_path / "2020-01-01_2020-12-31.pkl"
    assert not reusable(model, "abc")  # nothing saved
    model.write_bytes(b"model")
    assert not reusable(model, "abc")  # saved before fingerprints: refit
    write_fingerprint(model, "abc")
    assert reusable(model, "abc")
    assert not reusable(model, "abd")  # the lake changed
    invalidate(model)  # a refit is about to replace the file
    assert not fingerprint_path(model).exists()
    assert not reusable(model, "abc")
    invalidate(model)  # idempotent
