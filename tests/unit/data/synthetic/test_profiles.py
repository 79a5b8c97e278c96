"""The synthetic market on EU_EQ, JP_EQ and FX_GLOB: the market's sessions and closes, currency, exchange and
symbols; FX pairs without corporate lives; US_EQ unchanged as the default."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.synthetic.frames import SIGNAL_PUBLICATION_MINUTES
from prometheus.data.synthetic.fx import PAIRS, pairs
from prometheus.data.synthetic.market import SyntheticMarket
from prometheus.data.synthetic.profiles import market_config

CONFIG = SyntheticConfig(n_names=24, years=1, seed=3)
CURRENCY = {Market.EU_EQ: "EUR", Market.JP_EQ: "JPY"}
EXCHANGE = {Market.EU_EQ: "XETR", Market.JP_EQ: "XTKS", Market.FX_GLOB: "XOFF"}


@pytest.fixture(scope="module")
def markets() -> dict[Market, SyntheticMarket]:
    return {m: generate_market(CONFIG, m) for m in (Market.EU_EQ, Market.JP_EQ, Market.FX_GLOB)}


@pytest.mark.parametrize("market", [Market.EU_EQ, Market.JP_EQ, Market.FX_GLOB])
def test_sessions_when_generated_are_the_markets_calendar(markets, market: Market) -> None:
    gen = markets[market]
    assert gen.market is market
    assert gen.truth.manifest["market"] == market.value
    assert list(gen.sessions) == get_calendar().sessions(market, CONFIG.start, CONFIG.end)
    assert set(gen.prices["date"].unique()) == set(gen.sessions)


def test_holidays_when_markets_differ_follow_each_exchange(markets) -> None:
    eu, jp, fx = (set(markets[m].sessions) for m in (Market.EU_EQ, Market.JP_EQ, Market.FX_GLOB))
    us = set(get_calendar().sessions(Market.US_EQ, CONFIG.start, CONFIG.end))
    assert date(2014, 7, 4) in eu
    assert date(2014, 7, 4) not in us
    assert date(2014, 5, 1) not in eu
    assert date(2014, 5, 1) in us
    assert date(2014, 1, 2) not in jp
    assert date(2014, 1, 2) in eu
    assert date(2014, 12, 25) in fx
    assert date(2014, 12, 25) not in us
    assert all(d.weekday() < 5 for d in fx)


@pytest.mark.parametrize("market", [Market.EU_EQ, Market.JP_EQ, Market.FX_GLOB])
def test_signals_when_published_are_stamped_after_the_markets_close_in_utc(markets, market: Market) -> None:
    gen = markets[market]
    cal = get_calendar()
    closes = {d: cal.close_at(market, d) for d in gen.sessions}
    sig = gen.signals.filter(pl.col("signal") == "alpha_feature")
    delay = pl.duration(minutes=SIGNAL_PUBLICATION_MINUTES)
    got = sig.select("date", (pl.col("published_at") - delay).alias("close")).unique()
    assert all(close == closes[d] for d, close in got.iter_rows())
    local = {Market.EU_EQ: time(17, 30), Market.JP_EQ: time(15, 0), Market.FX_GLOB: time(17, 0)}[market]
    tz = cal.tz(market)
    assert {c.astimezone(tz).time() for c in closes.values()} <= {local, time(14, 0), time(13, 0)}


@pytest.mark.parametrize("market", [Market.EU_EQ, Market.JP_EQ])
def test_equities_when_listed_carry_the_markets_currency_exchange_and_symbols(markets, market: Market) -> None:
    gen = markets[market]
    inst = gen.instruments
    assert set(inst["currency"]) == {CURRENCY[market]}
    assert set(inst["exchange"]) == {EXCHANGE[market]}
    symbols = inst["symbol"].to_list()
    if market is Market.JP_EQ:
        assert all(s.isdigit() and len(s) == 4 and 1301 <= int(s) <= 9997 for s in symbols)
        assert (gen.prices["close"] == gen.prices["close"].round(0)).all()  # whole yen
        assert 300 < gen.prices["close"].median() < 30_000
    else:
        assert all(s.isalpha() and s.isupper() and len(s) in (3, 4) for s in symbols)
        assert 5 < gen.prices["close"].median() < 500
    assert gen.corporate_actions.height > 0
    assert gen.events.height > 0
    assert gen.news.height > 0


def test_jp_news_when_published_never_falls_in_a_session_of_another_day(markets) -> None:
    """Headlines are stamped between 05:30 and 19:30 Tokyo time of their session's date (the lunch break is a
    trading pause, not a closed day: news then is known like any other)."""
    news = markets[Market.JP_EQ].news.filter(~pl.col("source").is_null())
    local = news["published_at"].dt.convert_time_zone("Asia/Tokyo")
    assert local.dt.hour().min() >= 5
    assert local.dt.hour().max() <= 20


def test_fx_when_generated_follows_the_pair_convention(markets) -> None:
    gen = markets[Market.FX_GLOB]
    inst = gen.instruments
    symbols = inst["symbol"].to_list()
    assert symbols == sorted(p.symbol for p in pairs(CONFIG.n_names))
    assert {"EURUSD", "USDJPY", "GBPUSD", "AUDUSD", "USDCHF", "USDCAD", "NZDUSD"} <= set(symbols)
    assert all(len(s) == 6 and s.isalpha() and s.isupper() for s in symbols)
    # currency = quote currency: the last three letters.
    assert all(c == s[3:] for s, c in inst.select("symbol", "currency").iter_rows())
    assert set(inst["exchange"]) == {"XOFF"}
    assert inst["listed"].n_unique() == 1
    assert inst["delisted"].is_null().all()
    first = gen.prices.filter(pl.col("date") == gen.sessions[0])
    level = dict(first.select("symbol", "close").iter_rows())
    assert 0.95 < level["EURUSD"] < 1.3
    assert 110 < level["USDJPY"] < 170
    assert 0.8 < level["USDCHF"] < 1.05
    for frame in (gen.corporate_actions, gen.events, gen.news):
        assert frame.height == 0
    assert (gen.prices["volume"] > 1e6).all()
    assert gen.prices["volume"].max() <= 5e10
    assert (gen.prices["low"] <= gen.prices[["open", "close"]].min_horizontal()).all()


def test_fx_when_more_pairs_are_asked_than_exist_raises() -> None:
    assert len(PAIRS) == len(set(p.symbol for p in PAIRS)) >= 100
    with pytest.raises(ConfigError, match="n_names"):
        generate_market(SyntheticConfig(n_names=len(PAIRS) + 1, years=1), Market.FX_GLOB)


def test_market_when_it_has_no_profile_raises() -> None:
    with pytest.raises(ConfigError, match="US_FUT"):
        generate_market(CONFIG, Market.US_FUT)


def test_us_eq_when_default_is_the_same_market_as_before(markets) -> None:
    default, explicit = generate_market(CONFIG), generate_market(CONFIG, Market.US_EQ)
    assert default.prices.equals(explicit.prices)
    assert set(default.instruments["exchange"]) <= {"XNYS", "XNAS"}
    assert set(default.instruments["currency"]) == {"USD"}
    eu = markets[Market.EU_EQ]
    # Same seed, same factor structure: the cross-section draws do not depend on the market.
    assert np.array_equal(eu.panel.universe.beta, default.panel.universe.beta)
    assert eu.truth.manifest["config_version"] == default.truth.manifest["config_version"]


def test_closes_when_utc_match_local_close_times(markets) -> None:
    day = date(2014, 6, 2)
    assert get_calendar().close_at(Market.JP_EQ, day) == datetime(2014, 6, 2, 6, 0, tzinfo=UTC)
    assert get_calendar().close_at(Market.FX_GLOB, day).astimezone(ZoneInfo("America/New_York")).hour == 17
    jp_break = get_calendar().break_at(Market.JP_EQ, day)
    assert jp_break is not None
    assert jp_break[0].astimezone(ZoneInfo("Asia/Tokyo")).time() == time(11, 30)


def test_market_config_when_fx_moves_pairs_like_currencies_and_equities_keep_the_plain_config() -> None:
    for market in (Market.US_EQ, Market.EU_EQ, Market.JP_EQ):
        assert market_config(market, {"n_names": 24}) == SyntheticConfig(n_names=24)
    cfg = market_config(Market.FX_GLOB, {"n_names": 20, "years": 2, "seed": 4, "idio_annual_vol": 0.05})
    assert cfg.idio_annual_vol == 0.05  # explicit values win over the market's defaults
    gen = generate_market(cfg, Market.FX_GLOB)
    r = gen.prices.sort("symbol", "date").with_columns(pl.col("close").log().diff().over("symbol").alias("r"))
    vol = r.group_by("symbol").agg(pl.col("r").std() * np.sqrt(252.0))["r"]
    assert 0.04 < vol.median() < 0.15  # majors move ~7-10 % a year; equities ~30 %
