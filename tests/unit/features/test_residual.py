"""Residual features: the formula on hand-built panels, beta, null rules, sector fallback, point in time, docs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.calendar import get_calendar
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.panel import listed_names
from prometheus.data.schema import Table
from prometheus.data.timemachine import HistorySnapshot
from prometheus.features import (
    RESIDUAL_FEATURES,
    RESIDUAL_NAMES,
    RESIDUAL_SCHEMA,
    RESIDUAL_WINDOW,
    point_in_time_residual,
    residual_features,
    residual_markdown,
    residual_returns,
)
from tests.support.panel_market import History

DOC = Path(__file__).resolve().parents[3] / "docs" / "features.md"
M = Market.US_EQ
COL = {n: j for j, n in enumerate(RESIDUAL_NAMES)}
#: Two sectors: A of 4 names, B of 3; betas average 1, so the equal-weighted mean of r is exactly m.
SECTORS = np.array(["A", "A", "A", "A", "B", "B", "B"])
BETAS = np.array([0.5, 1.0, 1.5, 1.2, 0.8, 1.0, 1.0])


def _factor_panel(rows: int = RESIDUAL_WINDOW, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """r_i = beta_i * m + c_sector(i): sector factors orthogonal to 1 and m, summing to 0 across names each day."""
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0, 0.01, rows)
    basis = np.column_stack([np.ones(rows), m])
    c_a = rng.normal(0.0, 0.01, rows)
    c_a -= basis @ np.linalg.lstsq(basis, c_a, rcond=None)[0]  # OLS of r on m then recovers beta exactly
    c = np.where(SECTORS == "A", 1.0, -4.0 / 3.0)[None, :] * c_a[:, None]
    return BETAS[None, :] * m[:, None] + c, m


def _reference(r: np.ndarray, sectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The documented formula with loops and np.polyfit: (residuals, betas)."""
    rows, names = r.shape
    m = np.array([np.mean(r[s][np.isfinite(r[s])]) if np.isfinite(r[s]).any() else np.nan for s in range(rows)])
    beta = np.full(names, np.nan)
    for i in range(names):
        ok = np.isfinite(r[-60:, i]) & np.isfinite(m[-60:])
        if ok.sum() >= 40:
            beta[i] = np.polyfit(m[-60:][ok], r[-60:, i][ok], 1)[0]
    u = r - np.where(np.isfinite(beta), beta, 1.0) * m[:, None]
    e = u.copy()
    for s in range(rows):
        for i in range(names):
            peers = [j for j in range(names) if sectors[j] == sectors[i] and np.isfinite(u[s, j])]
            if sectors[i] != "" and len(peers) >= 3:
                e[s, i] = u[s, i] - np.mean(u[s, peers])
    return e, beta


def test_residual_when_name_moves_with_market_beta_and_sector_is_zero() -> None:
    r, _ = _factor_panel()

    e, beta = residual_returns(r, SECTORS)
    out = residual_features(r, SECTORS)

    np.testing.assert_allclose(beta, BETAS, atol=1e-9)
    np.testing.assert_allclose(e, 0.0, atol=1e-12)
    np.testing.assert_allclose(out[:, [COL["resid_ret_1"], COL["resid_ret_20"]]], 0.0, atol=1e-12)


def test_residual_when_idiosyncratic_jump_shows_in_that_name() -> None:
    r, _ = _factor_panel()
    jump = 0.10
    r[-1, 0] += jump

    got = residual_features(r, SECTORS)[:, COL["resid_ret_1"]]

    # Name 0 carries the jump less its own share of the sector mean; its 3 sector peers carry that share with the
    # opposite sign (the sector mean includes name 0); sector B barely moves. Not exact: the jump also enters the
    # 60-session regressions (name 0's beta moves from 0.5 to about 0.72) and shifts m by jump / 7 that day.
    assert got[0] == pytest.approx(jump * 3 / 4, rel=0.1)
    np.testing.assert_allclose(got[1:4], -jump / 4, rtol=0.25)
    assert np.abs(got[4:]).max() < 0.02 * jump
    np.testing.assert_allclose(residual_returns(r, SECTORS)[0][-1], _reference(r, SECTORS)[0][-1], atol=1e-12)


def test_residual_when_random_panel_with_holes_matches_the_reference_formula() -> None:
    rng = np.random.default_rng(11)
    sectors = np.array(["A"] * 5 + ["B"] * 3 + ["C"] * 2 + [""] * 2)
    r = rng.normal(0.0, 0.02, (RESIDUAL_WINDOW, len(sectors)))
    r[rng.random(r.shape) < 0.08] = np.nan
    r[:25, 3] = np.nan  # 35 pairs at most: null beta, residual with beta = 1

    e, beta = residual_returns(r, sectors)
    ref_e, ref_beta = _reference(r, sectors)

    np.testing.assert_allclose(e, ref_e, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(beta, ref_beta, atol=1e-12, equal_nan=True)
    assert np.isnan(beta[3])


def test_beta_when_pairs_below_forty_is_null_and_residual_uses_beta_one() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(0.0, 0.02, (RESIDUAL_WINDOW, 6))
    r[:20, 0] = np.nan  # 40 pairs
    r[:21, 1] = np.nan  # 39 pairs
    sectors = np.array([""] * 6)  # market-only residuals: e = r - beta * m

    e, beta = residual_returns(r, sectors)
    m = np.nanmean(r, axis=1)

    assert np.isfinite(beta[0])
    assert np.isnan(beta[1])
    np.testing.assert_allclose(e[-5:, 1], r[-5:, 1] - m[-5:], atol=1e-15)
    np.testing.assert_allclose(e[-5:, 0], r[-5:, 0] - beta[0] * m[-5:], atol=1e-15)
    assert np.isnan(residual_features(r, sectors)[1, COL["resid_beta_60"]])


def test_beta_when_market_constant_is_null() -> None:
    r = np.full((RESIDUAL_WINDOW, 4), 0.01)

    _, beta = residual_returns(r, np.array(["A"] * 4))

    assert np.isnan(beta).all()


def test_features_when_a_return_is_missing_null_the_sums_that_span_it() -> None:
    rng = np.random.default_rng(8)
    r = rng.normal(0.0, 0.02, (RESIDUAL_WINDOW, 8))
    r[-3, 2] = np.nan
    sectors = np.array(["A"] * 4 + ["B"] * 4)

    out = residual_features(r, sectors)
    e, _ = residual_returns(r, sectors)

    assert np.isfinite(out[2, COL["resid_ret_1"]])
    assert np.isnan(out[2, [COL["resid_ret_5"], COL["resid_ret_10"], COL["resid_ret_20"], COL["resid_vol_20"]]]).all()
    assert np.isfinite(out[2, COL["resid_beta_60"]])
    assert out[0, COL["resid_ret_10"]] == pytest.approx(e[-10:, 0].sum())
    assert out[0, COL["resid_vol_20"]] == pytest.approx(np.std(e[-20:, 0], ddof=1))


def test_features_when_window_short_null_what_needs_more_sessions() -> None:
    rng = np.random.default_rng(9)
    r = rng.normal(0.0, 0.02, (15, 4))

    out = residual_features(r, np.array(["A"] * 4))

    assert np.isfinite(out[:, [COL["resid_ret_1"], COL["resid_ret_10"]]]).all()
    assert np.isnan(out[:, [COL["resid_ret_20"], COL["resid_vol_20"], COL["resid_beta_60"]]]).all()


def test_sector_when_short_or_unknown_falls_back_to_market_residual() -> None:
    rng = np.random.default_rng(4)
    sectors = np.array(["A", "A", "A", "B", "B", "", ""])  # A: 3 names, B: 2 (short), '' unknown
    r = rng.normal(0.0, 0.02, (RESIDUAL_WINDOW, len(sectors)))
    r[-1, 2] = np.nan  # A has 2 names with a return on the last day: market-only that day

    e, beta = residual_returns(r, sectors)
    u = r - beta[None, :] * np.nanmean(r, axis=1)[:, None]

    np.testing.assert_allclose(e[:, 3:], u[:, 3:], atol=1e-15)  # short and unknown sectors: market-only
    np.testing.assert_allclose(e[-1, :2], u[-1, :2], atol=1e-15)
    np.testing.assert_allclose(e[-2, :3], u[-2, :3] - u[-2, :3].mean(), atol=1e-15)


def test_features_when_no_names_are_empty() -> None:
    assert residual_features(np.empty((RESIDUAL_WINDOW, 0)), np.array([], dtype=str)).shape == (0, 6)


def _history(h: History, last: date) -> list[date]:
    return get_calendar().sessions(M, h.market.sessions[200], last)


def _residual(
    h: History, days: list[date], times: Sequence[datetime], snap: HistorySnapshot | None = None
) -> pl.DataFrame:
    ctx = h.context(days)
    return point_in_time_residual(h.view(ctx, snap), M, days, list(times), _history(h, days[-1]))


def test_point_in_time_residual_when_read_directly_at_the_decision_matches(stability_history: History) -> None:
    h = stability_history
    days = list(h.market.sessions[300:304])
    ctx = h.context(days)

    got = _residual(h, days, ctx.decision_times)

    assert got.schema == pl.Schema(RESIDUAL_SCHEMA)
    assert got.select(pl.all().exclude("date", "symbol").is_nan().any()).sum_horizontal().item() == 0
    d, t = days[-1], ctx.decision_times[-1]
    at = h.view(ctx).at(t)
    window = _history(h, d)[-RESIDUAL_WINDOW:]
    names = listed_names(at.table(Table.INSTRUMENTS, market=M), d)
    bars = at.table(Table.PRICES_ADJUSTED, market=M, start=window[0], end=d).join(names, on="symbol", how="semi")
    grid = (
        pl.DataFrame({"date": window})
        .join(names.select("symbol"), how="cross")
        .join(bars.select("date", "symbol", "total_return"), on=["date", "symbol"], how="left")
    )
    r = grid["total_return"].fill_null(np.nan).to_numpy().reshape(len(window), names.height)
    expected = residual_features(r, names["sector"].to_numpy().astype(str))
    today = set(bars.filter(pl.col("date") == d)["symbol"].to_list())
    keep = np.array([s in today for s in names["symbol"].to_list()])
    row = got.filter(pl.col("date") == d)
    assert row["symbol"].to_list() == names["symbol"].filter(pl.Series(keep)).to_list()
    np.testing.assert_allclose(row.select(RESIDUAL_NAMES).to_numpy(), expected[keep], atol=1e-12, equal_nan=True)


def test_point_in_time_residual_when_future_poisoned_keeps_rows_up_to_d(stability_history: History, poison) -> None:
    h = stability_history
    days = list(h.market.sessions[400:406])
    d, ctx = days[2], h.context(days)
    # Every bar and reference row known after d's decision time changed, plus late rows dated <= d known after it.
    dirty = poison(h.snapshot, ctx.decision_times[2], d)

    clean_rows = _residual(h, days, ctx.decision_times)
    dirty_rows = _residual(h, days, ctx.decision_times, dirty)

    assert_frame_equal(dirty_rows.filter(pl.col("date") <= d), clean_rows.filter(pl.col("date") <= d))
    assert not dirty_rows.filter(pl.col("date") > d).equals(clean_rows.filter(pl.col("date") > d))  # poison bites


def test_poisoning_test_when_reader_reads_later_than_the_decision_fails(stability_history: History, poison) -> None:
    """The poisoning test can fail: serving every session as known at the last decision time moves rows <= d."""
    h = stability_history
    days = list(h.market.sessions[400:406])
    d, ctx = days[2], h.context(days)
    dirty = poison(h.snapshot, ctx.decision_times[2], d)
    later = [ctx.decision_times[-1]] * len(days)

    with pytest.raises(AssertionError):
        assert_frame_equal(
            _residual(h, days, later, dirty).filter(pl.col("date") <= d),
            _residual(h, days, later).filter(pl.col("date") <= d),
        )


def test_point_in_time_residual_when_inputs_inconsistent_raises(stability_history: History) -> None:
    h = stability_history
    days = list(h.market.sessions[300:302])
    ctx = h.context(days)
    view = h.view(ctx)

    with pytest.raises(DataError, match="no sessions"):
        point_in_time_residual(view, M, [], [], days)
    with pytest.raises(DataError, match="decision time"):
        point_in_time_residual(view, M, days, ctx.decision_times[:1], days)
    with pytest.raises(DataError, match="history sessions"):
        point_in_time_residual(view, M, days, ctx.decision_times, days[:1])


def test_docs_when_compared_with_declarations_list_the_family() -> None:
    text = DOC.read_text()

    assert residual_markdown() in text, "docs/features.md is stale: regenerate its tables"
    assert all(f"`{f.name}`" in text for f in RESIDUAL_FEATURES)
    assert len(set(RESIDUAL_NAMES)) == len(RESIDUAL_NAMES)
