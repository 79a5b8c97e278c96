"""Non-price features: values, the as-of rule, revisions, missing data, future poisoning, engine joins, docs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import EVENTS, INSTRUMENT_EMBEDDINGS, NEWS_AGGREGATES, PROFILES, Table
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.features import (
    CONTEXT_FEATURES,
    ENGINE_SCHEMA,
    context_features,
    context_schema,
    engine_context,
    features_markdown,
    point_in_time_context,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "features.md"
MARKET = Market.US_EQ
DAYS = [date(2024, 1, 2) + timedelta(days=i) for i in range(5)]  # Tue..Sat: five "sessions" for the test
SYMBOLS = ("AAA", "BBB")
EMB_V, PROF_V = "emb-v", "prof-v"
K = 3
UTC_US = pl.Datetime("us", "UTC")


def _t(day: date, minutes: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 21, 5, tzinfo=UTC) + timedelta(minutes=minutes)


TIMES = [_t(d) for d in DAYS]


def _frame(schema: pl.Schema, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{"market": str(MARKET), **r} for r in rows], schema=schema)


def _embeddings(value: float = 0.0, *, known: int = 0) -> list[dict]:
    return [
        {"date": d, "symbol": s, "config_version": v, "model_version": "m", "known_at": _t(d, known),
         "embedding": [value + 10 * i + j + (100 if s == "BBB" else 0) + (500 if v != EMB_V else 0) for j in range(4)]}
        for i, d in enumerate(DAYS) for s in SYMBOLS for v in (EMB_V, "other")
    ]  # fmt: skip


def _profiles(scale: float = 1.0, *, known: int = 0) -> list[dict]:
    return [
        {"date": d, "symbol": s, "config_version": PROF_V, "sector": "Tech", "beta": scale * (1 + i),
         "vol": 0.2 * scale, "adv": 1e6 * scale, "amihud": 0.01 * scale, "embedding_centroid": None, "cluster": 1,
         "sessions_since_earnings": i, "last_surprise": 0.5 * scale, "known_at": _t(d, known)}
        for i, d in enumerate(DAYS) for s in SYMBOLS
    ]  # fmt: skip


def _base() -> dict[Table, pl.DataFrame]:
    """Embeddings and profiles every session for both symbols; news for AAA on DAYS[1]; AAA earnings on DAYS[2]
    (announced the evening of DAYS[1], after its decision time) and on DAYS[4] (announced just before DAYS[3]'s
    decision); BBB guidance on DAYS[4]."""
    news = [{"date": DAYS[1], "symbol": "AAA", "model_version": "t", "n_items": 3, "embedding": [0.1],
             "known_at": TIMES[1]}]  # fmt: skip
    events = [
        {"date": DAYS[2], "symbol": "AAA", "event": "earnings", "value": 0.3, "detail": None,
         "known_at": _t(DAYS[1], 30)},
        {"date": DAYS[4], "symbol": "AAA", "event": "earnings", "value": -0.1, "detail": None,
         "known_at": _t(DAYS[3], -1)},
        {"date": DAYS[4], "symbol": "BBB", "event": "guidance", "value": 1.0, "detail": None,
         "known_at": _t(DAYS[4], -600)},
    ]  # fmt: skip
    return {
        Table.INSTRUMENT_EMBEDDINGS: _frame(INSTRUMENT_EMBEDDINGS.polars_schema, _embeddings()),
        Table.PROFILES: _frame(PROFILES.polars_schema, _profiles()),
        Table.NEWS_AGGREGATES: _frame(NEWS_AGGREGATES.polars_schema, news),
        Table.EVENTS: _frame(EVENTS.polars_schema, events),
    }


def _view(tables: dict[Table, pl.DataFrame], as_of: datetime | None = None) -> TimeMachine:
    return TimeMachine(HistorySnapshot(datetime(2100, 1, 1, tzinfo=UTC), tables), as_of or _t(DAYS[-1], 60 * 24))


def _context(tables: dict[Table, pl.DataFrame], days: list[date] = DAYS, times: list[datetime] = TIMES,
             ) -> pl.DataFrame:  # fmt: skip
    return point_in_time_context(
        _view(tables), MARKET, days, times, embedding_config_version=EMB_V, profile_config_version=PROF_V, k=K
    )


def _row(frame: pl.DataFrame, day: date, symbol: str) -> dict:
    rows = frame.filter((pl.col("date") == day) & (pl.col("symbol") == symbol)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def _with(tables: dict[Table, pl.DataFrame], table: Table, extra: list[dict]) -> dict[Table, pl.DataFrame]:
    schema = tables[table].schema
    return {**tables, table: pl.concat([tables[table], _frame(pl.Schema(schema), extra)])}


def test_point_in_time_context_when_read_gives_declared_schema_and_values() -> None:
    out = _context(_base())

    assert out.schema == context_schema(K)
    assert out.height == len(DAYS) * len(SYMBOLS)
    row = _row(out, DAYS[1], "BBB")
    assert [row["emb_1"], row["emb_2"], row["emb_3"]] == [110.0, 111.0, 112.0]  # the selected config only
    assert row["profile_beta"] == 2.0
    assert row["profile_sessions_since_earnings"] == 1.0
    assert row["profile_log_adv"] == pytest.approx(13.815510557964274)
    assert row["news_count"] == 0.0
    assert row["news_has"] == 0.0
    assert _row(out, DAYS[1], "AAA")["news_count"] == 3.0
    assert _row(out, DAYS[1], "AAA")["news_has"] == 1.0


def test_point_in_time_context_when_events_known_flags_earnings_by_announcement() -> None:
    out = _context(_base()).filter(pl.col("symbol") == "AAA").sort("date")

    # DAYS[2]'s earnings, announced after DAYS[1]'s decision, is never "ahead"; DAYS[4]'s is, from DAYS[3].
    assert out["earnings_today"].to_list() == [0.0, 0.0, 1.0, 0.0, 1.0]
    assert out["earnings_ahead"].to_list() == [0.0, 0.0, 0.0, 1.0, 0.0]
    bbb = _context(_base()).filter(pl.col("symbol") == "BBB")
    assert bbb["earnings_today"].to_list() == [0.0] * 5  # guidance is not earnings


def test_point_in_time_context_when_announced_before_decision_flags_ahead() -> None:
    early = _with(_base(), Table.EVENTS, [{"date": DAYS[3], "symbol": "BBB", "event": "earnings", "value": 0.0,
                                           "detail": None, "known_at": _t(DAYS[1], -5)}])  # fmt: skip

    bbb = _context(early).filter(pl.col("symbol") == "BBB").sort("date")

    assert bbb["earnings_ahead"].to_list() == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert bbb["earnings_today"].to_list() == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_point_in_time_context_when_data_missing_gives_null() -> None:
    tables = _base()
    tables[Table.PROFILES] = (
        tables[Table.PROFILES]
        .filter(~((pl.col("symbol") == "AAA") & (pl.col("date") == DAYS[0])))
        .with_columns(pl.when(pl.col("date") == DAYS[3]).then(None).otherwise(pl.col("adv")).alias("adv"))
    )
    tables[Table.INSTRUMENT_EMBEDDINGS] = tables[Table.INSTRUMENT_EMBEDDINGS].with_columns(
        pl.when(pl.col("symbol") == "BBB").then(pl.col("embedding").list.head(2)).otherwise(pl.col("embedding"))
    )

    out = _context(tables)

    first = _row(out, DAYS[0], "AAA")
    assert first["profile_beta"] is None
    assert first["emb_1"] == 0.0
    assert first["news_count"] is None
    assert first["news_has"] is None
    assert _row(out, DAYS[3], "AAA")["profile_log_adv"] is None
    assert _row(out, DAYS[0], "BBB")["emb_3"] is None  # beyond the embedding's dimension
    assert out.filter(pl.col("date") == DAYS[2])["news_count"].to_list() == [None, None]


def test_point_in_time_context_when_revised_serves_revision_known_at_each_decision() -> None:
    # AAA's DAYS[1] profile revised (beta 99) after DAYS[2]'s decision; an AAA embedding of DAYS[3] arrives late.
    tables = _with(
        _base(),
        Table.PROFILES,
        [
            r | {"beta": 99.0, "known_at": _t(DAYS[2], 30)}
            for r in _profiles()
            if r["date"] == DAYS[1] and r["symbol"] == "AAA"
        ],
    )
    tables[Table.INSTRUMENT_EMBEDDINGS] = tables[Table.INSTRUMENT_EMBEDDINGS].with_columns(
        pl.when((pl.col("date") == DAYS[3]) & (pl.col("symbol") == "AAA"))
        .then(pl.lit(_t(DAYS[3], 1)).cast(UTC_US)).otherwise(pl.col("known_at")).alias("known_at")
    )  # fmt: skip

    out = _context(tables)
    redo = _context(tables, [DAYS[1]], [_t(DAYS[2], 30)])  # the same session decided after the revision

    assert _row(out, DAYS[1], "AAA")["profile_beta"] == 2.0  # the original: the revision came later
    assert _row(redo, DAYS[1], "AAA")["profile_beta"] == 99.0
    assert _row(out, DAYS[3], "AAA")["emb_1"] is None  # late: unknown at its decision time
    assert _row(out, DAYS[3], "AAA")["profile_beta"] == 4.0


def test_point_in_time_context_when_per_session_reads_agree() -> None:
    tables = _with(_base(), Table.PROFILES, [r | {"beta": -r["beta"], "known_at": _t(DAYS[3], 1)}
                                            for r in _profiles() if r["symbol"] == "BBB"])  # fmt: skip

    whole = _context(tables)
    one_by_one = pl.concat(_context(tables, [d], [t]) for d, t in zip(DAYS, TIMES, strict=True))

    assert whole.equals(one_by_one)
    # Revisions known after DAYS[3]'s decision: every BBB row of DAYS[0..3] is served from a re-read (the original).
    assert whole.filter(pl.col("symbol") == "BBB")["profile_beta"].to_list() == [1.0, 2.0, 3.0, 4.0, 5.0]


def _poisoned(tables: dict[Table, pl.DataFrame], cutoff: datetime) -> dict[Table, pl.DataFrame]:
    """Every row known after ``cutoff`` set to 1e9, plus 1e9 revisions and late rows, all known after it."""
    later = cutoff + timedelta(minutes=1)
    after = pl.col("known_at") > cutoff
    poison = {
        Table.INSTRUMENT_EMBEDDINGS: {"embedding": pl.lit([1e9] * 4, dtype=pl.List(pl.Float32()))},
        Table.PROFILES: {c: pl.lit(1e9) for c in ("beta", "vol", "adv", "amihud", "last_surprise")}
        | {"sessions_since_earnings": pl.lit(10**9, dtype=pl.Int64())},
        Table.NEWS_AGGREGATES: {"n_items": pl.lit(10**9, dtype=pl.Int64())},
        Table.EVENTS: {"event": pl.lit("earnings")},
    }
    out = {}
    for table, frame in tables.items():
        changed = frame.with_columns(
            pl.when(after).then(e).otherwise(pl.col(c)).alias(c) for c, e in poison[table].items()
        )
        revised = frame.with_columns(
            *(e.alias(c) for c, e in poison[table].items()), pl.lit(later).cast(UTC_US).alias("known_at")
        )
        late = revised.with_columns(pl.lit("ZZZ").alias("symbol"))
        out[table] = pl.concat([changed, revised, late])
    late_events = _frame(
        EVENTS.polars_schema,
        [
            {"date": d, "symbol": s, "event": "earnings", "value": 1e9, "detail": None, "known_at": later}
            for d in DAYS
            for s in SYMBOLS
        ],
    )
    out[Table.EVENTS] = pl.concat([out[Table.EVENTS], late_events])
    return out  # fmt: skip


def test_point_in_time_context_when_future_poisoned_is_unchanged() -> None:
    clean = _base()
    for k, (day, t) in enumerate(zip(DAYS, TIMES, strict=True)):
        dirty = _poisoned(clean, t)

        before = _context(clean).filter(pl.col("date") <= day)
        after = _context(dirty).filter(pl.col("date") <= day)

        assert after.equals(before), f"session {k}: rows changed by data known after its decision time"


def test_point_in_time_context_when_poisoned_without_known_at_filter_would_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The poisoning test can fail: serve every session from the whole read (no known_at filter, no re-reads).
    from prometheus.features import context_tables

    def leaky(view, market, table, days, columns, keep, *, ahead=0):  # type: ignore[no-untyped-def]
        frame = view.table(table, market=market)
        frame = frame.filter(keep) if keep is not None else frame
        pairs = days.join_where(frame, pl.col("date") >= pl.col("session"),
                                pl.col("date") <= pl.col("session") + timedelta(days=ahead))  # fmt: skip
        return pairs.select("session", "date", "symbol", *columns)

    monkeypatch.setattr(context_tables, "_as_of", leaky)
    clean = _base()

    before = _context(clean).filter(pl.col("date") <= DAYS[1])
    after = _context(_poisoned(clean, TIMES[1])).filter(pl.col("date") <= DAYS[1])

    assert not after.equals(before)


def test_point_in_time_context_when_view_earlier_than_decisions_raises_lookahead() -> None:
    from prometheus.core.errors import LookAheadError

    tables = _with(_base(), Table.PROFILES, [r | {"known_at": _t(DAYS[4], 1)} for r in _profiles()])

    with pytest.raises(LookAheadError):
        point_in_time_context(_view(tables, TIMES[3]), MARKET, DAYS, TIMES,
                              embedding_config_version=EMB_V, profile_config_version=PROF_V)  # fmt: skip


@pytest.mark.parametrize(
    ("days", "times", "message"),
    [([], [], "no sessions"), (DAYS[:2], TIMES[:1], "one decision time"), ([DAYS[0]] * 2, TIMES[:2], "repeat")],
)
def test_point_in_time_context_when_sessions_bad_raises(days: list[date], times: list[datetime], message: str) -> None:
    with pytest.raises(DataError, match=message):
        _context(_base(), days, times)


def _sectors() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "session": [DAYS[0], DAYS[0], DAYS[0], DAYS[1]],
            "instrument": ["AAA", "BBB", "CCC", "AAA"],
            "sector": ["Tech", "Energy", None, "Tech"],
        }  # fmt: skip
    )


def _upstream() -> dict[str, pl.DataFrame]:
    comps = pl.Struct({"cluster_avg_corr": pl.Float64(), "flagged": pl.Float64()})
    return {
        "regime": pl.DataFrame(
            {"session": [DAYS[0], DAYS[1], DAYS[2]], "state": [0, 1, 1], "label": ["calm", "normal", "crisis"],
             "probabilities": [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.9, 0.1]], "confidence": [0.7, 0.8, 0.9]}
        ),
        "stability": pl.DataFrame(
            {"session": [DAYS[0], DAYS[0], DAYS[0], DAYS[1], DAYS[2]],
             "instrument": ["", "sector:Tech", "sector:Energy", "sector:Tech", ""], "score": [0.5, 0.6, 0.4, 0.3, 0.1]}
        ),
        "fragility": pl.DataFrame(
            {"session": [DAYS[0], DAYS[0], DAYS[0], DAYS[2]], "instrument": ["AAA", "BBB", "cluster:AAA", "AAA"],
             "score": [2.0, 0.0, 0.45, 9.0],
             "components": [{"cluster_avg_corr": 0.45, "flagged": 1.0}, {"cluster_avg_corr": None, "flagged": 0.0},
                            {"cluster_avg_corr": 0.45, "flagged": 1.0}, {"cluster_avg_corr": 0.1, "flagged": 0.0}]},
            schema_overrides={"components": comps},
        ),
    }  # fmt: skip


def test_engine_context_when_joined_broadcasts_market_and_matches_sector() -> None:
    out = engine_context(_upstream(), _sectors())

    assert out.schema == ENGINE_SCHEMA
    assert out.height == 4
    aaa, bbb, ccc = (
        _row(out.rename({"session": "date", "instrument": "symbol"}), DAYS[0], s) for s in SYMBOLS + ("CCC",)
    )
    assert aaa["regime_label"] == bbb["regime_label"] == ccc["regime_label"] == 0.0
    assert (aaa["regime_p_calm"], aaa["regime_p_normal"], aaa["regime_p_crisis"]) == (0.7, 0.2, 0.1)
    assert aaa["stability_market"] == ccc["stability_market"] == 0.5
    assert (aaa["stability_sector"], bbb["stability_sector"], ccc["stability_sector"]) == (0.6, 0.4, None)
    assert (aaa["fragility"], aaa["fragility_cluster"], aaa["fragility_cluster_flagged"]) == (2.0, 0.45, 1.0)
    assert (bbb["fragility"], bbb["fragility_cluster"], ccc["fragility"]) == (0.0, None, None)  # fmt: skip


def test_engine_context_when_session_has_no_row_never_uses_another_session() -> None:
    out = engine_context(_upstream(), _sectors()).filter(pl.col("session") == DAYS[1]).to_dicts()[0]

    assert out["regime_label"] == 1.0
    assert out["regime_p_normal"] == 0.8
    assert out["regime_p_crisis"] == 0.1
    assert out["stability_market"] is None  # DAYS[0]'s and DAYS[2]'s market rows are not used
    assert out["stability_sector"] == 0.3
    assert out["fragility"] is None  # nothing on DAYS[1]; DAYS[2]'s 9.0 is later, DAYS[0]'s 2.0 earlier


def test_engine_context_when_two_state_regime_maps_probabilities_by_label() -> None:
    sectors = pl.DataFrame({"session": [DAYS[2]], "instrument": ["AAA"], "sector": ["Tech"]})

    out = engine_context(_upstream(), sectors).to_dicts()[0]

    assert (out["regime_label"], out["regime_p_calm"], out["regime_p_normal"], out["regime_p_crisis"]) == (
        2.0, 0.9, None, 0.1)  # fmt: skip


def test_engine_context_when_engines_absent_gives_null_columns() -> None:
    out = engine_context({"fragility": _upstream()["fragility"].drop("components")}, _sectors())

    assert out.schema == ENGINE_SCHEMA
    assert out["regime_label"].null_count() == 4
    assert out["fragility_cluster"].null_count() == 4
    assert out.filter(pl.col("session") == DAYS[0])["fragility"].to_list() == [2.0, 0.0, None]


def test_engine_context_when_upstream_repeats_key_raises() -> None:
    upstream = _upstream()
    upstream["stability"] = pl.concat([upstream["stability"], upstream["stability"].head(1)])

    with pytest.raises(DataError, match="repeats"):
        engine_context(upstream, _sectors())


def test_declarations_when_listed_are_unique_and_sized_by_k() -> None:
    names = [f.name for f in CONTEXT_FEATURES]

    assert len(names) == len(set(names))
    assert [f.name for f in context_features(2)][:3] == ["emb_1", "emb_2", "profile_beta"]
    assert "profile_cluster" not in names


def test_docs_when_compared_with_declarations_are_in_sync() -> None:
    text = DOC.read_text()

    assert text.endswith(features_markdown()), "docs/features.md is stale: regenerate its tables"
    assert all(f"`{f.name}`" in text for f in CONTEXT_FEATURES if not f.name.startswith("emb_"))
