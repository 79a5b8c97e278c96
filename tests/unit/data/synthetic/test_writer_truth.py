"""The ground truth written beside a synthetic delivery reads back as the generator made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from prometheus.core.errors import StoreError
from prometheus.data.synthetic import SyntheticConfig, generate_market, read_truth, write_vendor_files


def test_read_truth_when_written_by_write_vendor_files_returns_the_generated_truth(tmp_path: Path) -> None:
    market = generate_market(SyntheticConfig(n_names=20, years=1, seed=4))
    write_vendor_files(market, tmp_path)
    truth = read_truth(tmp_path)
    for name in ("market", "exposures", "signals", "news_tone"):
        assert getattr(truth, name).equals(getattr(market.truth, name)), name
    assert truth.manifest == market.truth.manifest


def test_read_truth_when_the_folder_has_no_truth_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="manifest.json"):
        read_truth(tmp_path)
