"""IC report: hand-checked ICs, planted and shuffled signals, Newey-West, regimes, deciles, turnover, rendering."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import pearsonr, spearmanr

from prometheus.core.errors import DataError
from prometheus.engines.assessment.report import IcReport, ic_report, newey_west_se, rank_ic

D0 = date(2024, 1, 2)


def _frames(
    score: np.ndarray, ret: np.ndarray, *, version: str = "v1", start: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores and outcomes for a (sessions x names) panel; session i is D0 + start + i days."""
    n_sessions, n_names = score.shape
    sessions = [D0 + timedelta(days=start + i) for i in range(n_sessions) for _ in range(n_names)]
    names = [f"I{j:03d}" for _ in range(n_sessions) for j in range(n_names)]
    scores = pl.DataFrame(
        {"session": sessions, "instrument": names, "score": score.ravel(), "model_version": version},
        schema={"session": pl.Date, "instrument": pl.String, "score": pl.Float64, "model_version": pl.String},
    )
    outcomes = pl.DataFrame(
        {"session": sessions, "instrument": names, "forward_return": ret.ravel()},
        schema={"session": pl.Date, "instrument": pl.String, "forward_return": pl.Float64},
    )
    return scores, outcomes


def _planted(seed: int, noise: float, n_sessions: int = 60, n_names: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ret = rng.normal(0.0, 0.02, (n_sessions, n_names))
    return ret + rng.normal(0.0, noise, ret.shape), ret


def test_rank_ic_when_finite_matches_scipy_and_drops_nans() -> None:
    s = np.array([0.3, 0.1, 0.5, 0.5, 0.9, np.nan, 0.2])
    t = np.array([0.02, -0.01, 0.00, 0.04, 0.03, 0.10, np.nan])
    keep = np.isfinite(s) & np.isfinite(t)
    assert rank_ic(s, t) == pytest.approx(spearmanr(s[keep], t[keep]).statistic)
    assert np.isnan(rank_ic(np.ones(6), np.arange(6.0)))
    assert np.isnan(rank_ic(np.array([1.0, 2.0]), np.array([2.0, 1.0])))


def test_daily_ic_when_tiny_frames_matches_scipy_and_skips_thin_sessions() -> None:
    score = np.array([[0.1, 0.4, 0.2, 0.9, 0.5, 0.3], [0.6, 0.1, 0.1, 0.8, 0.3, 0.2]])
    ret = np.array([[0.01, 0.03, -0.02, 0.05, 0.00, 0.02], [-0.01, 0.02, 0.01, 0.03, 0.00, 0.04]])
    scores, outcomes = _frames(score, ret)
    # A third session of four names is too thin; a fourth has no outcome yet (null) and drops out.
    thin_s, thin_o = _frames(np.arange(4.0)[None, :], np.arange(4.0)[None, :], start=2)
    late_s, late_o = _frames(np.arange(6.0)[None, :], np.full((1, 6), np.nan), start=3)
    late_o = late_o.with_columns(pl.lit(None, dtype=pl.Float64).alias("forward_return"))
    report = ic_report(pl.concat([scores, thin_s, late_s]), pl.concat([outcomes, thin_o, late_o]), horizon=1)
    assert report.sessions == 2
    assert report.groups_skipped == 1  # the thin session; the late one has no pairs at all
    assert report.pairs == 12 + 4
    for i, row in enumerate(report.daily.iter_rows(named=True)):
        assert row["ic"] == pytest.approx(pearsonr(score[i], ret[i]).statistic)
        assert row["rank_ic"] == pytest.approx(spearmanr(score[i], ret[i]).statistic)
    ric = report.daily["rank_ic"].to_numpy()
    assert report.mean_rank_ic == pytest.approx(ric.mean())
    assert report.std_rank_ic == pytest.approx(ric.std(ddof=1))
    assert report.icir == pytest.approx(ric.mean() / ric.std(ddof=1))
    assert report.t_stat_naive == pytest.approx(ric.mean() / (ric.std(ddof=1) / np.sqrt(2)))


def test_planted_signal_when_measured_gives_positive_ic_and_monotone_deciles() -> None:
    score, ret = _planted(seed=7, noise=0.02)
    report = ic_report(*_frames(score, ret), horizon=5)
    assert report.mean_rank_ic > 0.5
    assert report.t_stat > 10
    assert report.n_buckets == 10
    means = report.deciles["mean_return"].to_numpy()
    assert report.deciles["decile"].to_list() == list(range(1, 11))
    assert np.all(np.diff(means) > 0)
    assert report.decile_spread == pytest.approx(means[-1] - means[0])
    assert report.decile_monotonicity == pytest.approx(1.0)
    assert report.deciles["groups"].to_list() == [60] * 10


def test_shuffled_score_when_measured_gives_small_ic() -> None:
    rng = np.random.default_rng(11)
    score, ret = _planted(seed=7, noise=0.02)
    report = ic_report(*_frames(rng.permuted(score, axis=1), ret), horizon=1)
    assert abs(report.mean_rank_ic) < 0.05
    assert abs(report.t_stat) < 3


def test_newey_west_se_when_series_is_ar1_exceeds_naive_se() -> None:
    rng = np.random.default_rng(3)
    x = np.zeros(2000)
    for t in range(1, x.size):
        x[t] = 0.8 * x[t - 1] + rng.normal()
    naive = x.std(ddof=0) / np.sqrt(x.size)
    assert newey_west_se(x, 0) == pytest.approx(naive)
    assert newey_west_se(x, 10) > 2 * naive
    # Hand formula for lag 1: var = g0 + 2 * (1/2) * g1.
    e = x - x.mean()
    g0, g1 = e @ e / x.size, e[1:] @ e[:-1] / x.size
    assert newey_west_se(x, 1) == pytest.approx(np.sqrt((g0 + g1) / x.size))
    assert np.isnan(newey_west_se(np.array([1.0]), 3))


def test_ic_by_regime_when_labelled_splits_sessions() -> None:
    good, ret = _planted(seed=1, noise=0.005, n_sessions=20, n_names=30)
    bad = -good
    score = np.vstack([good[:10], bad[10:]])
    regimes = pl.DataFrame(
        {
            "session": [D0 + timedelta(days=i) for i in range(21)],
            "label": ["calm"] * 10 + ["crisis"] * 10 + ["calm"],  # the extra session has no scores
        }
    )
    report = ic_report(*_frames(score, ret), horizon=1, regimes=regimes)
    by = {r["label"]: r for r in report.by_regime.iter_rows(named=True)}
    assert set(by) == {"calm", "crisis"}
    assert by["calm"]["sessions"] == 10
    assert by["crisis"]["sessions"] == 10
    daily = report.daily["rank_ic"].to_numpy()
    assert by["calm"]["mean_rank_ic"] == pytest.approx(daily[:10].mean())
    assert by["crisis"]["mean_rank_ic"] == pytest.approx(daily[10:].mean())
    assert by["calm"]["mean_rank_ic"] > 0.5 > -0.5 > by["crisis"]["mean_rank_ic"]


def test_ic_by_model_when_two_versions_reports_each() -> None:
    score, ret = _planted(seed=2, noise=0.01, n_sessions=10, n_names=20)
    s1, o1 = _frames(score[:6], ret[:6], version="2024a")
    s2, o2 = _frames(-score[6:], ret[6:], version="2024b", start=6)
    report = ic_report(pl.concat([s1, s2]), pl.concat([o1, o2]), horizon=1)
    assert report.by_model["model_version"].to_list() == ["2024a", "2024b"]
    assert report.by_model["sessions"].to_list() == [6, 4]
    assert report.by_model["mean_rank_ic"][0] > 0 > report.by_model["mean_rank_ic"][1]


def test_top_turnover_when_top_sets_identical_or_disjoint_is_zero_or_one() -> None:
    base = np.arange(30.0)
    ret = np.zeros((3, 30))
    same = ic_report(*_frames(np.vstack([base, base, base]), ret + np.arange(30.0)), horizon=1)
    assert same.top_turnover == pytest.approx(0.0)
    # 30 names -> 10 buckets of 3: the top three names swap for three others every session.
    flipped = np.vstack([base, base[::-1], base])
    disjoint = ic_report(*_frames(flipped, ret + np.arange(30.0)), horizon=1)
    assert disjoint.top_turnover == pytest.approx(1.0)
    # Half of a top bucket of 4 (40 names) replaced, once in two changes: (0.5 + 0) / 2.
    b40 = np.arange(40.0)
    swapped = b40.copy()
    swapped[[38, 39, 0, 1]] = swapped[[0, 1, 38, 39]]
    half = ic_report(*_frames(np.vstack([b40, swapped, swapped]), np.zeros((3, 40)) + b40), horizon=1)
    assert half.top_turnover == pytest.approx(0.25)


def test_buckets_when_cross_sections_thin_are_fewer_than_ten() -> None:
    score, ret = _planted(seed=4, noise=0.0, n_sessions=5, n_names=12)
    report = ic_report(*_frames(score, ret), horizon=1)
    assert report.n_buckets == 4  # 12 names // 3 per bucket
    assert report.deciles.height == 4


def test_importance_when_versions_differ_averages_gain_shares() -> None:
    report = ic_report(
        *_frames(np.arange(6.0)[None, :], np.arange(6.0)[None, :]),
        horizon=1,
        importance={"v1": {"a": 3.0, "b": 1.0}, "v2": {"a": 1.0, "c": 1.0}, "stump": {"a": 0.0}},
    )
    rows = {r["feature"]: r for r in report.importance.iter_rows(named=True)}
    assert report.importance["feature"].to_list() == ["a", "c", "b"]
    assert rows["a"]["mean_share"] == pytest.approx((0.75 + 0.5) / 2)
    assert rows["b"]["mean_share"] == pytest.approx(0.125)
    assert rows["c"]["versions"] == 1
    assert report.importance["mean_share"].sum() == pytest.approx(1.0)


def test_markdown_when_rendered_holds_each_table() -> None:
    score, ret = _planted(seed=5, noise=0.02, n_sessions=10, n_names=50)
    regimes = pl.DataFrame({"session": [D0 + timedelta(days=i) for i in range(10)], "label": ["calm"] * 10})
    report = ic_report(*_frames(score, ret), horizon=3, regimes=regimes, importance={"v1": {"mom_20": 2.0, "vol": 1.0}})
    md = report.to_markdown("Assessment IC")
    assert md.startswith("# Assessment IC\n")
    for heading in (
        "## Summary",
        "## IC by regime",
        "## IC by model version",
        "## Forward return by score",
        "## Feature",
    ):
        assert heading in md
    assert "| metric | value |" in md
    assert f"| mean rank IC | {report.mean_rank_ic:.4f} |" in md
    assert "rank IC SE (Newey-West, lag 2)" in md
    assert "| calm | 10 |" in md
    assert "| mom_20 | 66.67% |" in md
    assert "| 1 | " in md
    assert "| 10 | " in md


def test_outputs_when_inputs_empty_still_render() -> None:
    scores, outcomes = _frames(np.empty((0, 0)), np.empty((0, 0)))
    report = ic_report(scores, outcomes, horizon=5)
    assert isinstance(report, IcReport)
    assert report.sessions == 0
    assert report.deciles.is_empty()
    assert report.by_model.is_empty()
    assert np.isnan(report.mean_rank_ic)
    assert report.plot_png().startswith(b"\x89PNG")
    assert "_no data_" in report.to_markdown("empty")
    meta = report.to_metadata()
    json.dumps(meta, allow_nan=False)
    assert "mean_rank_ic" not in meta
    assert meta["sessions"] == 0


def test_plot_and_metadata_when_populated_are_png_and_strict_json() -> None:
    score, ret = _planted(seed=6, noise=0.02, n_sessions=15, n_names=40)
    regimes = pl.DataFrame(
        {"session": [D0 + timedelta(days=i) for i in range(15)], "label": ["calm"] * 8 + ["crisis"] * 7}
    )
    importance = {"v1": {f"f{i}": float(i + 1) for i in range(30)}}
    report = ic_report(*_frames(score, ret), horizon=2, regimes=regimes, importance=importance)
    assert report.plot_png().startswith(b"\x89PNG")
    meta = report.to_metadata()
    json.loads(json.dumps(meta, allow_nan=False))
    assert meta["mean_rank_ic"] == pytest.approx(report.mean_rank_ic)
    assert meta["sessions"] == 15
    table = report.summary_table()
    assert table.schema == pl.Schema({"metric": pl.String, "value": pl.Float64})
    assert table.filter(pl.col("metric") == "t-stat (Newey-West)")["value"][0] == pytest.approx(report.t_stat)


def test_inputs_when_duplicated_or_incomplete_raise() -> None:
    scores, outcomes = _frames(np.arange(6.0)[None, :], np.arange(6.0)[None, :])
    with pytest.raises(DataError, match="duplicate"):
        ic_report(scores, pl.concat([outcomes, outcomes]), horizon=1)
    with pytest.raises(DataError, match="forward_return"):
        ic_report(scores, outcomes.drop("forward_return"), horizon=1)
    with pytest.raises(ValueError, match="horizon"):
        ic_report(scores, outcomes, horizon=0)
