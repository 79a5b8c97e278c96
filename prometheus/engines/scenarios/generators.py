"""Scenario generators: pure functions over a (sessions, names) matrix of daily simple returns.

Conventions shared by every generator:

* **Input**: ``returns`` is (T, n) daily simple returns, rows in session order (oldest first), NaN where a name
  is not listed. Generators that draw from history use its last ``cfg.history_sessions`` rows.
* **Missing data** (:func:`fill_missing`): a NaN becomes the same session's mean return of the listed names of the
  same sector (when ``sectors`` is given and the sector has a listed name), else of all listed names, else 0. A
  name with a short history thus borrows its sector's (or the market's) path for the sessions before it listed:
  every row stays whole, so whole-row resampling keeps the cross-section, and no name is dropped.
* **Output**: a :class:`ScenarioSet` whose ``paths`` are (paths, horizon, n) float32 **simple** daily returns,
  columns in the input's order; a path is one equally likely future.
* **Randomness**: the caller passes a ``numpy.random.Generator``; :func:`scenario_rng` gives each generator its
  own stream from (seed, name), so the same seed gives the same paths.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prometheus.engines.scenarios.config import GarchDist, GarchFit, GarchSpec, ReplayWindow, ScenarioConfig
from prometheus.engines.scenarios.config import ScenarioKind as Kind

#: arch fits are better conditioned on percent returns; parameters are converted back to fractions.
_PCT = 100.0


@dataclass(frozen=True)
class ScenarioSet:
    """One generator's scenarios: ``paths`` (paths, horizon, names) float32 daily simple returns."""

    name: str
    kind: Kind
    paths: np.ndarray
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.paths.shape[0])

    @property
    def horizon(self) -> int:
        """Sessions per path."""
        return int(self.paths.shape[1])

    @property
    def n_names(self) -> int:
        """Names (columns)."""
        return int(self.paths.shape[2])


def scenario_rng(seed: int, name: str) -> np.random.Generator:
    """A generator seeded by (seed, generator name): stable across runs, independent of the other generators."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))


def fill_missing(returns: np.ndarray, sectors: np.ndarray | None = None) -> np.ndarray:
    """Float64 copy of ``returns`` with each NaN replaced by its session's sector mean, else market mean, else 0."""
    x = np.asarray(returns, dtype=np.float64)
    missing = ~np.isfinite(x)
    if not missing.any():
        return x.copy()
    market = _row_mean(x)
    out = np.where(missing, market[:, None], x)
    if sectors is not None:
        sectors = np.asarray(sectors)
        for sector in np.unique(sectors):
            cols = sectors == sector
            mean = _row_mean(x[:, cols])
            known = np.isfinite(mean)
            fill = missing[:, cols] & known[:, None]
            out[:, cols] = np.where(fill, mean[:, None], out[:, cols])
    return np.where(np.isfinite(out), out, 0.0)


def _row_mean(x: np.ndarray) -> np.ndarray:
    """Mean of the finite values of each row (NaN where none)."""
    ok = np.isfinite(x)
    count = ok.sum(axis=1)
    total = np.where(ok, x, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _window(returns: np.ndarray, cfg: ScenarioConfig, sectors: np.ndarray | None) -> np.ndarray:
    return fill_missing(np.asarray(returns)[-cfg.history_sessions :], sectors)


# --- filtered historical simulation --------------------------------------------------------------------------


@dataclass(frozen=True)
class GarchFilter:
    """A fitted GJR-GARCH(1,1) filter per name; arrays of length n unless noted, in fractional-return units.

    ``h[t+1] = omega + (alpha + gamma 1{e[t] < 0}) e[t]^2 + beta h[t]`` with ``e = r - mu``.
    """

    mu: np.ndarray
    omega: np.ndarray
    alpha: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    std_resid: np.ndarray  # (T, n) e[t] / sqrt(h[t])
    variance: np.ndarray  # (T, n) h[t]
    next_variance: np.ndarray  # h[T]: the variance of the first simulated session
    nu: float  # Student-t degrees of freedom of the market fit (NaN for per-name fits or a normal fit)


def _arch_params(x: np.ndarray, spec: GarchSpec) -> dict[str, float]:
    """``arch`` GJR-GARCH(1,1) fit of one series: alpha, gamma, beta and nu (NaN when not Student-t)."""
    from arch import arch_model  # arch costs ~2 s to import: only where a set is generated

    dist = "t" if spec.dist == GarchDist.STUDENT_T else "normal"
    model = arch_model(x * _PCT, mean="Constant", vol="GARCH", p=1, o=int(spec.asymmetric), q=1, dist=dist)
    with warnings.catch_warnings():
        # A non-converged fit still gives usable dynamics; persistence is capped below either way.
        warnings.simplefilter("ignore")
        params = model.fit(disp="off", show_warning=False).params
    return {
        "alpha": float(params["alpha[1]"]),
        "gamma": float(params["gamma[1]"]) if spec.asymmetric else 0.0,
        "beta": float(params["beta[1]"]),
        "nu": float(params["nu"]) if dist == "t" else float("nan"),
    }


def fit_garch_filter(window: np.ndarray, spec: GarchSpec) -> GarchFilter:
    """Fit the GARCH dynamics (``spec.fit``: once on the equal-weighted market, or per name) and filter every name.

    Each name keeps its own mean and, by variance targeting, the constant ``omega = var (1 - persistence)`` with
    persistence ``alpha + gamma / 2 + beta`` capped at ``spec.max_persistence``: a shared-dynamics fit then still
    gives every name its own volatility level, and a near-integrated fit cannot make the variance explode.
    """

    x = np.asarray(window, dtype=np.float64)
    n = x.shape[1]
    if spec.fit == GarchFit.MARKET:
        p = _arch_params(x.mean(axis=1), spec)
        alpha, gamma, beta = (np.full(n, p[k]) for k in ("alpha", "gamma", "beta"))
        nu = p["nu"]
    else:
        fits = [_arch_params(x[:, i], spec) for i in range(n)]
        alpha, gamma, beta = (np.array([f[k] for f in fits]) for k in ("alpha", "gamma", "beta"))
        nu = float("nan")
    # The variance stays positive only with alpha >= 0, alpha + gamma >= 0 and beta >= 0; an unconstrained fit can
    # land just outside (alpha 0.374, gamma -0.380 on a market with names listed mid-window), and a negative
    # variance then turns every simulated path of those names into NaN. Project onto that region.
    alpha = np.maximum(alpha, 0.0)
    gamma = np.maximum(gamma, -alpha)
    beta = np.maximum(beta, 0.0)
    persistence = alpha + gamma / 2.0 + beta
    shrink = np.minimum(1.0, spec.max_persistence / np.maximum(persistence, 1e-12))
    alpha, gamma, beta = alpha * shrink, gamma * shrink, beta * shrink
    mu = x.mean(axis=0)
    e = x - mu
    var = e.var(axis=0)
    omega = var * (1.0 - (alpha + gamma / 2.0 + beta))
    h = np.empty_like(e)
    h_t = var.copy()  # start at the unconditional variance
    for t in range(len(e)):  # the recursion is sequential in time; vectorised across names
        h[t] = h_t
        h_t = omega + (alpha + gamma * (e[t] < 0)) * e[t] ** 2 + beta * h_t
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(h > 0, e / np.sqrt(h), 0.0)
    return GarchFilter(mu, omega, alpha, gamma, beta, z, h, h_t, nu)


def simulate_filtered(filt: GarchFilter, n_paths: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """(paths, horizon, n) float32 returns: whole rows of standardised residuals re-filtered from ``next_variance``.

    One row index per path and session for all names together, so the residuals' cross-sectional dependence
    (the correlation of the names) survives; the GARCH recursion then carries volatility clustering forward.
    """
    z = filt.std_resid
    h = np.broadcast_to(filt.next_variance, (n_paths, z.shape[1])).copy()
    out = np.empty((n_paths, horizon, z.shape[1]), dtype=np.float32)
    for k in range(horizon):
        e = np.sqrt(h) * z[rng.integers(len(z), size=n_paths)]
        out[:, k] = filt.mu + e
        h = filt.omega + (filt.alpha + filt.gamma * (e < 0)) * e * e + filt.beta * h
    return out


def filtered_historical(
    returns: np.ndarray, cfg: ScenarioConfig, rng: np.random.Generator, *, sectors: np.ndarray | None = None
) -> ScenarioSet:
    """Filtered historical simulation: GJR-GARCH(1,1)-t filter, whole-row bootstrap of standardised residuals."""
    filt = fit_garch_filter(_window(returns, cfg, sectors), cfg.garch)
    paths = simulate_filtered(filt, cfg.paths, cfg.horizon_sessions, rng)
    meta = {
        "history_sessions": int(filt.std_resid.shape[0]),
        "garch_fit": str(cfg.garch.fit),
        "alpha": float(np.median(filt.alpha)),
        "gamma": float(np.median(filt.gamma)),
        "beta": float(np.median(filt.beta)),
        "nu": filt.nu,
        "vol_ratio": float(np.median(np.sqrt(filt.next_variance / filt.variance.mean(axis=0)))),
    }
    return ScenarioSet("filtered_historical", Kind.FILTERED_HISTORICAL, paths, meta)


# --- block and regime bootstraps -----------------------------------------------------------------------------


def automatic_block_length(market: np.ndarray) -> float:
    """Politis-White stationary block length (``arch.optimal_block_length``) of the market series, at least 1.

    Taken as the larger of the estimates for the returns and for their squares: daily returns have almost no
    autocorrelation (their own estimate is ~1, an iid bootstrap), while their squares carry volatility
    clustering, which whole-row blocks should keep.
    """
    from arch.bootstrap import optimal_block_length  # arch costs ~2 s to import: only where a set is generated

    m = np.asarray(market, dtype=np.float64)
    est = optimal_block_length(np.column_stack([m, (m - m.mean()) ** 2]))
    return float(max(1.0, np.nanmax(est["stationary"].to_numpy())))


def block_bootstrap(
    returns: np.ndarray, cfg: ScenarioConfig, rng: np.random.Generator, *, sectors: np.ndarray | None = None
) -> ScenarioSet:
    """Stationary bootstrap (``arch.bootstrap.StationaryBootstrap``) of whole rows of the history window.

    Each path is the first ``horizon`` indices of one bootstrap replicate: blocks of geometric length with mean
    ``cfg.block_length`` (automatic when None), starting anywhere, wrapping from the last row to the first.
    """
    from arch.bootstrap import StationaryBootstrap  # arch costs ~2 s to import: only where a set is generated

    window = _window(returns, cfg, sectors)
    block = cfg.block_length if cfg.block_length is not None else automatic_block_length(window.mean(axis=1))
    boot = StationaryBootstrap(block, np.arange(len(window)), seed=rng)
    horizon = cfg.horizon_sessions
    if horizon > len(window):
        raise ValueError(f"horizon {horizon} exceeds the {len(window)} sessions of history")
    idx = np.stack([boot.update_indices()[:horizon] for _ in range(cfg.paths)])
    meta = {"history_sessions": len(window), "block_length": block, "automatic": cfg.block_length is None}
    return ScenarioSet("block_bootstrap", Kind.BLOCK_BOOTSTRAP, window[idx].astype(np.float32), meta)


def regime_bootstrap(
    returns: np.ndarray,
    regimes: np.ndarray,
    current_label: object,
    cfg: ScenarioConfig,
    rng: np.random.Generator,
    *,
    sectors: np.ndarray | None = None,
    stressed: bool = False,
) -> ScenarioSet:
    """Whole rows drawn (iid, with replacement) from the sessions whose regime label equals ``current_label``.

    ``regimes`` labels the rows of ``returns`` (any dtype; rows with other or unknown labels are never drawn).
    Rows come from the history window; when it holds no session of the label, from the whole history given.
    ``stressed`` only names the set ``regime_stressed``: pass the crisis label to draw from crisis rows (crisis
    visits are rare, so give the whole history; a 3-year window may hold none).

    Raises
    ------
    ValueError
        No session of ``returns`` carries ``current_label``.
    """
    labels = np.asarray(regimes)
    if len(labels) != len(returns):
        raise ValueError(f"{len(labels)} regime labels for {len(returns)} rows of returns")
    start = max(0, len(labels) - cfg.history_sessions)
    rows = start + np.flatnonzero(labels[start:] == current_label)
    scope = "window"
    if rows.size == 0:
        rows, scope = np.flatnonzero(labels == current_label), "history"
    if rows.size == 0:
        raise ValueError(f"no session with regime label {current_label!r}")
    filled = fill_missing(np.asarray(returns)[rows], sectors)
    idx = rng.integers(rows.size, size=(cfg.paths, cfg.horizon_sessions))
    meta = {"label": current_label, "rows": int(rows.size), "scope": scope, "row_index": rows}
    name = "regime_stressed" if stressed else "regime_bootstrap"
    return ScenarioSet(name, Kind.REGIME_BOOTSTRAP, filled[idx].astype(np.float32), meta)


# --- historical replay ---------------------------------------------------------------------------------------


def replay(
    returns: np.ndarray,
    sessions: Sequence[dt.date],
    windows: Sequence[ReplayWindow],
    *,
    sectors: np.ndarray | None = None,
) -> ScenarioSet:
    """Each window's sessions of history as one path (``sessions`` dates the rows of ``returns``).

    Paths are as long as the longest window; a shorter window's path ends in zero returns (no further move), so
    its cumulative P&L is the window's own. Windows without a session in the history are skipped (metadata).
    """
    days = np.asarray(sessions, dtype="datetime64[D]")
    if len(days) != len(returns):
        raise ValueError(f"{len(days)} sessions for {len(returns)} rows of returns")
    found: list[tuple[str, np.ndarray]] = []
    skipped: list[str] = []
    for w in windows:
        rows = np.flatnonzero((days >= np.datetime64(w.start)) & (days <= np.datetime64(w.end)))
        if rows.size:
            found.append((w.name, rows))
        else:
            skipped.append(w.name)
    n = np.asarray(returns).shape[1]
    length = max((rows.size for _, rows in found), default=0)
    paths = np.zeros((len(found), length, n), dtype=np.float32)
    filled = fill_missing(returns, sectors) if found else np.zeros((0, n))
    for k, (_, rows) in enumerate(found):
        paths[k, : rows.size] = filled[rows]
    meta = {"windows": [w for w, _ in found], "lengths": [int(r.size) for _, r in found], "skipped": skipped}
    return ScenarioSet("replay", Kind.REPLAY, paths, meta)


# --- hypothetical shocks -------------------------------------------------------------------------------------


def estimate_betas(window: np.ndarray) -> np.ndarray:
    """OLS beta of each column on the equal-weighted mean of the columns (complete window, no NaN)."""
    x = np.asarray(window, dtype=np.float64)
    m = x.mean(axis=1)
    dm = m - m.mean()
    var = float(dm @ dm)
    return (x - x.mean(axis=0)).T @ dm / var if var > 0 else np.ones(x.shape[1])


def crisis_correlation(corr: np.ndarray, level: float) -> tuple[np.ndarray, float]:
    """Correlation matrix pulled towards perfect correlation until its mean off-diagonal value is ``level``.

    ``C* = (1 - w) C + w 11'`` with ``w = (level - mean) / (1 - mean)`` (0 when already at or above ``level``):
    a convex mix of two correlation matrices, so C* is one too (unit diagonal, positive semi-definite), and the
    ranking of the pairs survives. Returns C* and w.
    """
    c = np.asarray(corr, dtype=np.float64)
    n = c.shape[0]
    mean = float((c.sum() - np.trace(c)) / (n * (n - 1))) if n > 1 else 1.0
    w = max(0.0, (level - mean) / (1.0 - mean)) if mean < 1.0 else 0.0
    return (1.0 - w) * c + w, w


def stressed_covariance(window: np.ndarray, level: float) -> np.ndarray:
    """Covariance of a complete window with each name's volatility kept and correlation raised to ``level``."""
    x = np.asarray(window, dtype=np.float64)
    sd = x.std(axis=0)
    live = sd > 0
    corr = np.eye(x.shape[1])
    if live.sum() > 1:
        corr[np.ix_(live, live)] = np.corrcoef(x[:, live], rowvar=False)
    stressed, _ = crisis_correlation(corr, level)
    return stressed * np.outer(sd, sd)


def shocks(
    returns: np.ndarray,
    sectors: np.ndarray,
    cfg: ScenarioConfig,
    rng: np.random.Generator,
    *,
    betas: np.ndarray | None = None,
) -> tuple[ScenarioSet, ScenarioSet, ScenarioSet]:
    """Hypothetical shocks: market, sector, and crisis correlation.

    * ``market_shock``: one one-session path, each name moving ``beta * cfg.market_shock`` (``betas`` given, or
      estimated on the equal-weighted market of the history window).
    * ``sector_shock``: one one-session path per sector (``cfg.shock_sectors``, or every sector of ``sectors``),
      its names moving ``cfg.sector_shock`` and the others not at all.
    * ``crisis_correlation``: ``cfg.paths`` Gaussian paths of ``cfg.horizon_sessions`` sessions, zero mean, each
      name's own volatility, average pairwise correlation raised to ``cfg.crisis_correlation``
      (:func:`crisis_correlation`). Gaussian on purpose: it isolates dependence; fat tails are the other sets'.
    """
    window = _window(returns, cfg, sectors)
    n = window.shape[1]
    sectors = np.asarray(sectors).astype(str)
    beta = np.asarray(betas, dtype=np.float64) if betas is not None else estimate_betas(window)
    market = ScenarioSet(
        "market_shock",
        Kind.SHOCK,
        (beta * cfg.market_shock).astype(np.float32).reshape(1, 1, n),
        {"shock": cfg.market_shock, "betas": beta},
    )
    names = list(cfg.shock_sectors) or sorted(set(sectors.tolist()) - {""})
    moves = np.stack([np.where(sectors == s, cfg.sector_shock, 0.0) for s in names]) if names else np.zeros((0, n))
    sector = ScenarioSet(
        "sector_shock", Kind.SHOCK, moves.astype(np.float32).reshape(len(names), 1, n),
        {"shock": cfg.sector_shock, "sectors": names},
    )  # fmt: skip
    cov = stressed_covariance(window, cfg.crisis_correlation)
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))  # cov = root root'; eigh tolerates a singular matrix
    draws = rng.standard_normal((cfg.paths * cfg.horizon_sessions, n)) @ root.T
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.where(np.outer(sd, sd) > 0, np.outer(sd, sd), 1.0)
    mean_corr = float((corr.sum() - np.trace(corr)) / max(n * (n - 1), 1))
    corr_meta = {"level": cfg.crisis_correlation, "mean_correlation": mean_corr}
    correlation = ScenarioSet(
        "crisis_correlation",
        Kind.SHOCK,
        draws.reshape(cfg.paths, cfg.horizon_sessions, n).astype(np.float32),
        corr_meta,
    )
    return market, sector, correlation
