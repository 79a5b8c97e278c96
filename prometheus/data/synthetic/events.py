"""Earnings events with surprises and templated news headlines whose tone carries part of the planted alpha."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prometheus.data.synthetic._random import stream
from prometheus.data.synthetic.config import SyntheticConfig
from prometheus.data.synthetic.text import (
    EARNINGS_TEMPLATES,
    PARTNERS,
    PRODUCTS,
    REGIONS,
    SOURCES,
    TEMPLATES,
    TONES,
)
from prometheus.data.synthetic.universe import Universe

_QUARTER = 63
_TONE_CUT = 0.43  # |score| beyond this is positive / negative: about a third of items each


@dataclass(frozen=True)
class Earnings:
    """Earnings events as parallel arrays; ``t`` is the reaction session (after-close events: the next one)."""

    t: np.ndarray
    name: np.ndarray
    surprise_z: np.ndarray  # standardised surprise; the event-day jump is earnings_jump_sd * surprise_z idio sds
    before_open: np.ndarray  # bool: announced before the open of t, else after the close of t-1
    eps_estimate: np.ndarray
    eps_actual: np.ndarray


@dataclass(frozen=True)
class News:
    """Headlines as parallel arrays; ``t`` is the session date of publication (New York), ``minute`` the minute
    after 06:00 local time (0..839), or -1 for earnings items stamped with the announcement instant."""

    t: np.ndarray
    name: np.ndarray
    minute: np.ndarray
    tone: np.ndarray  # int code into text.TONES
    score: np.ndarray  # latent tone score (corr news_tone_corr with the latent signal)
    headline: np.ndarray  # str
    source: np.ndarray  # str
    event: np.ndarray  # int index into Earnings, -1 for ordinary items


def earnings_schedule(cfg: SyntheticConfig, uni: Universe, n_t: int) -> tuple[Earnings, np.ndarray]:
    """Quarterly earnings per name (stream ``earnings``) and the jump panel in idio sds, shape (n_t, n)."""
    rng = stream(cfg.seed, "earnings")
    phase = rng.integers(0, _QUARTER, size=uni.n)
    k = np.arange(n_t // _QUARTER + 2)
    t = phase[:, None] + _QUARTER * k[None, :] + rng.integers(-3, 4, size=(uni.n, len(k)))
    name = np.broadcast_to(np.arange(uni.n)[:, None], t.shape)
    ok = (t >= uni.listed[:, None] + 5) & (t < uni.delisted[:, None]) & (t >= 1)
    t, name = t[ok], name[ok]
    order = np.lexsort((name, t))
    t, name = t[order], name[order]
    z = rng.standard_normal(len(t))
    eps_level = uni.price0[name] / rng.uniform(12.0, 30.0, size=len(t)) / 4.0
    estimate = np.round(eps_level * rng.uniform(0.8, 1.2, size=len(t)), 2)
    actual = np.round(estimate + np.maximum(np.abs(estimate), 0.05) * 0.05 * z, 2)
    jumps = np.zeros((n_t, uni.n))
    jumps[t, name] = cfg.earnings_jump_sd * z
    return Earnings(t, name, z, rng.random(len(t)) < 0.55, estimate, actual), jumps


def no_earnings(n_t: int, n: int) -> tuple[Earnings, np.ndarray]:
    """No events and a zero jump panel: instruments without earnings (currency pairs)."""
    i, f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Earnings(i, i, f, np.zeros(0, dtype=bool), f, f), np.zeros((n_t, n))


def _ordinary_items(
    cfg: SyntheticConfig, uni: Universe, latent: np.ndarray, rng: np.random.Generator, rate: float
) -> tuple[np.ndarray, ...]:
    n_t = latent.shape[0]
    rows = np.arange(n_t)[:, None]
    live = (rows >= uni.listed) & (rows <= uni.delisted)
    t, name = np.nonzero(live & (rng.random(latent.shape) < rate))
    rho = cfg.news_tone_corr
    score = rho * latent[t, name] + np.sqrt(1.0 - rho * rho) * rng.standard_normal(len(t))
    tone = np.where(score > _TONE_CUT, 0, np.where(score < -_TONE_CUT, 1, 2))
    return t, name, score, tone


def _fill(template: str, name: str, rng: np.random.Generator, **extra: str) -> str:
    return template.format(
        name=name,
        product=PRODUCTS[rng.integers(len(PRODUCTS))],
        partner=PARTNERS[rng.integers(len(PARTNERS))],
        region=REGIONS[rng.integers(len(REGIONS))],
        pct=int(rng.integers(3, 25)),
        amount=int(rng.integers(2, 40)) * 50,
        **extra,
    )


def _earnings_items(ev: Earnings, uni: Universe, months: np.ndarray, rng: np.random.Generator) -> tuple:
    tone = np.where(ev.surprise_z > 0.3, 0, np.where(ev.surprise_z < -0.3, 1, 2))
    quarter = (months[ev.t] - 1) // 3  # results of the quarter before the report: 0 -> Q4
    heads = []
    for j in range(len(ev.t)):
        options = EARNINGS_TEMPLATES[TONES[tone[j]]]
        extra = {
            "quarter": f"Q{quarter[j] if quarter[j] else 4}",
            "eps": f"{ev.eps_actual[j]:.2f}",
            "est": f"{ev.eps_estimate[j]:.2f}",
        }
        heads.append(_fill(options[rng.integers(len(options))], uni.names[ev.name[j]], rng, **extra))
    return tone, np.array(heads, dtype=object)


def make_news(
    cfg: SyntheticConfig, uni: Universe, latent: np.ndarray, ev: Earnings, months: np.ndarray, *, company: bool = True
) -> News:
    """Ordinary headlines (Bernoulli ``news_rate`` per live name-session) plus one headline per earnings event
    (stream ``news``). ``months``: calendar month of each session. Without ``company`` (currency pairs: the
    templates are company news) there are no ordinary headlines."""
    rng = stream(cfg.seed, "news")
    t, name, score, tone = _ordinary_items(cfg, uni, latent, rng, cfg.news_rate if company else 0.0)
    heads = []
    for j in range(len(t)):
        options = TEMPLATES[TONES[tone[j]]]
        heads.append(_fill(options[rng.integers(len(options))], uni.names[name[j]], rng))
    e_tone, e_heads = _earnings_items(ev, uni, months, rng)
    n_o, n_e = len(t), len(ev.t)
    return News(
        t=np.concatenate([t, ev.t]),
        name=np.concatenate([name, ev.name]),
        minute=np.concatenate([rng.integers(0, 14 * 60, size=n_o), np.full(n_e, -1)]),
        tone=np.concatenate([tone, e_tone]),
        score=np.concatenate([score, ev.surprise_z]),
        headline=np.concatenate([np.array(heads, dtype=object), e_heads]),
        source=np.array(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), size=n_o + n_e)],
        event=np.concatenate([np.full(n_o, -1), np.arange(n_e)]),
    )
