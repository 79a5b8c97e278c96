"""Vendor frames and files: declared columns, raw OHLC consistency, corporate actions consistent with raw prices,
point-in-time stamps before the facts they announce, lifecycle of listed and delisted names."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.data.synthetic import (
    TRUTH_FILES,
    VENDOR_FILES,
    SyntheticConfig,
    SyntheticMarket,
    generate_market,
    write_vendor_files,
)


@cache
def _market() -> SyntheticMarket:
    return generate_market(SyntheticConfig(n_names=100, years=5, seed=11))


def _with_previous_close(prices: pl.DataFrame) -> pl.DataFrame:
    return prices.sort("symbol", "date").with_columns(prev_close=pl.col("close").shift(1).over("symbol"))


def test_frames_when_generated_match_declared_vendor_schemas() -> None:
    frames = _market().vendor_frames()
    for schema in VENDOR_FILES:
        assert frames[schema.file].schema == schema.polars_schema, schema.file


def test_prices_when_rounded_keep_ohlc_consistent_and_positive() -> None:
    p = _market().prices
    assert p.filter(pl.col("low") > pl.min_horizontal("open", "close")).height == 0
    assert p.filter(pl.col("high") < pl.max_horizontal("open", "close")).height == 0
    assert p.select((pl.col("low") > 0).all() & (pl.col("volume") > 0).all()).item()
    assert p.select(pl.struct("date", "symbol").is_duplicated().any()).item() is False


def test_two_for_one_split_when_ex_date_arrives_halves_raw_price() -> None:
    m = _market()
    splits = m.corporate_actions.filter((pl.col("action") == "split") & (pl.col("value") == 2.0))
    assert splits.height > 0
    rows = _with_previous_close(m.prices).join(splits, on=["date", "symbol"])
    truth = m.truth.signals.select("date", "symbol", "total_return")
    rows = rows.join(truth, on=["date", "symbol"])
    ratio = (rows["close"] / rows["prev_close"]).to_numpy()
    expected = (1.0 + rows["total_return"].to_numpy()) / 2.0
    assert np.allclose(ratio, expected, atol=2e-3)
    assert ((ratio > 0.35) & (ratio < 0.65)).all()


def test_total_return_when_recovered_from_raw_prices_and_actions_matches_truth() -> None:
    m = _market()
    actions = m.corporate_actions.pivot(on="action", index=["date", "symbol"], values="value")
    rows = (
        _with_previous_close(m.prices)
        .join(actions, on=["date", "symbol"], how="left")
        .join(m.truth.signals.select("date", "symbol", "total_return"), on=["date", "symbol"])
        .drop_nulls("prev_close")
        .with_columns(pl.col("split").fill_null(1.0), pl.col("dividend").fill_null(0.0))
    )
    recovered = (rows["close"] * rows["split"] + rows["dividend"]) / rows["prev_close"] - 1.0
    error = np.abs(recovered.to_numpy() - rows["total_return"].to_numpy())
    tolerance = 0.011 / rows["prev_close"].to_numpy() + 1e-9  # cent rounding of two prices
    assert (error <= tolerance * (1 + rows["split"].to_numpy())).mean() > 0.999


def test_corporate_actions_when_announced_precede_the_ex_date_open() -> None:
    m = _market()
    opens = get_calendar().sessions_frame("US_EQ", m.sessions[0], m.sessions[-1]).select(date="session", open="open")
    joined = m.corporate_actions.join(opens, on="date")
    assert joined.filter(pl.col("announced_at") >= pl.col("open")).height == 0
    assert m.corporate_actions.filter(pl.col("action") == "dividend").height > 100


def test_events_when_announced_are_known_before_their_reaction_session_closes() -> None:
    ev = _market().events
    local = ev.with_columns(pl.col("announced_at").dt.convert_time_zone("America/New_York").alias("ny"))
    same_day = local.filter(pl.col("ny").dt.date() == pl.col("date"))
    assert same_day.select((pl.col("ny").dt.hour() < 9).all()).item()
    assert local.select((pl.col("ny").dt.date() <= pl.col("date")).all()).item()


def test_delisted_names_when_last_session_arrives_lose_thirty_percent() -> None:
    m = _market()
    gone = m.instruments.filter(pl.col("delisted").is_not_null())
    assert gone.height > 0
    last = m.truth.signals.join(gone.select("symbol", date="delisted"), on=["symbol", "date"])
    assert last.height == gone.height
    assert np.allclose(last["total_return"].to_numpy(), -0.30)
    rows_after = m.prices.join(gone.select("symbol", "delisted"), on="symbol").filter(
        pl.col("date") > pl.col("delisted")
    )
    assert rows_after.height == 0


def test_instruments_when_listed_late_have_no_earlier_prices() -> None:
    m = _market()
    first = m.prices.group_by("symbol").agg(pl.col("date").min().alias("first"))
    joined = m.instruments.join(first, on="symbol")
    assert (joined["first"] == joined["listed"]).all()
    assert joined.filter(pl.col("listed") > m.sessions[0]).height > 0


def test_news_when_generated_have_unique_ids_and_utc_times() -> None:
    news = _market().news
    assert news["item_id"].is_unique().all()
    assert news.schema["published_at"] == pl.Datetime("us", "UTC")
    assert news["published_at"].is_sorted()


def test_write_vendor_files_when_called_writes_every_file_with_its_header(tmp_path: Path) -> None:
    m = generate_market(SyntheticConfig(n_names=30, years=1, seed=4))
    write_vendor_files(m, tmp_path)
    for schema in VENDOR_FILES:
        header = (tmp_path / schema.file).read_text().splitlines()[0]
        assert header == ",".join(c.name for c in schema.columns)
    for name in TRUTH_FILES:
        assert (tmp_path / "truth" / name).is_file()
    prices = pl.read_csv(tmp_path / "prices.csv", try_parse_dates=True)
    assert prices.height == m.prices.height


@pytest.mark.parametrize("field", ["n_names", "years"])
def test_config_when_too_small_is_rejected(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SyntheticConfig(**{field: 0})
