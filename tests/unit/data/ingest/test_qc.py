"""QC rules: every rule quarantines exactly the rows it should, with file, row, field, value and reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.core.errors import ConfigError
from prometheus.data.ingest import QcConfig, QcRule
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from tests.support.ingest_kit import (
    LENIENT,
    SESSIONS,
    actions_frame,
    clean_prices,
    close_at,
    ingest,
    instruments,
    set_cell,
    split_prices,
    write_vendor,
)

D = SESSIONS
Case = Callable[[Path], Path]


def _prices(**cells: object) -> Callable[[Path], Path]:
    def build(directory: Path) -> Path:
        return write_vendor(directory, set_cell(clean_prices(), D[10], "AAA", **cells))

    return build


def _extra_row(**row: object) -> Case:
    def build(directory: Path) -> Path:
        prices = clean_prices().cast(pl.String)
        base = prices.filter((pl.col("date") == D[5].isoformat()) & (pl.col("symbol") == "BBB"))
        extra = base.with_columns([pl.lit(str(v)).alias(k) for k, v in row.items()])
        return write_vendor(directory, pl.concat([prices, extra]))

    return build


def _action(action: str, value: float, announced: str | None = "2024-02-01T21:30:00Z") -> Case:
    def build(directory: Path) -> Path:
        return write_vendor(directory, actions=actions_frame([(D[20], "AAA", action, value, announced)]))

    return build


def _spike(directory: Path) -> Path:
    prices = clean_prices()
    hit = (pl.col("date") == D[30].isoformat()) & (pl.col("symbol") == "AAA")
    spiked = prices.with_columns([pl.when(hit).then(pl.col(c) * 100).otherwise(pl.col(c)).alias(c)
                                  for c in ("open", "high", "low", "close")])  # fmt: skip
    return write_vendor(directory, spiked)


def _stale(directory: Path) -> Path:
    prices = clean_prices()
    frozen = prices.filter((pl.col("date") == D[40].isoformat()) & (pl.col("symbol") == "AAA")).row(0, named=True)
    run = (pl.col("symbol") == "AAA") & pl.col("date").is_between(pl.lit(D[40].isoformat()), pl.lit(D[45].isoformat()))
    stale = prices.with_columns([pl.when(run).then(pl.lit(frozen[c])).otherwise(pl.col(c)).alias(c)
                                 for c in ("open", "high", "low", "close")])  # fmt: skip
    return write_vendor(directory, stale)


def _bad_listing(directory: Path) -> Path:
    names = instruments().with_columns(
        pl.when(pl.col("symbol") == "CCC").then(pl.lit("2023-01-01")).otherwise(pl.col("delisted")).alias("delisted")
    )
    return write_vendor(directory, names=names)


def _duplicate(directory: Path) -> Path:
    prices = clean_prices()
    return write_vendor(directory, pl.concat([prices, prices.slice(7, 1)]))


def _delisted_early(directory: Path) -> Path:
    names = instruments().with_columns(
        pl.when(pl.col("symbol") == "CCC")
        .then(pl.lit(D[50].isoformat()))
        .otherwise(pl.col("delisted"))
        .alias("delisted")
    )
    return write_vendor(directory, names=names)


def _last_bar_jump(directory: Path) -> Path:
    prices = clean_prices()
    hit = (pl.col("date") == D[-1].isoformat()) & (pl.col("symbol") == "AAA")
    jumped = prices.with_columns([pl.when(hit).then(pl.col(c) * 3).otherwise(pl.col(c)).alias(c)
                                  for c in ("open", "high", "low", "close")])  # fmt: skip
    return write_vendor(directory, jumped)


def _signal_before_close(directory: Path) -> Path:
    write_vendor(directory)
    stamps = [close_at(D[5]) + timedelta(minutes=30), close_at(D[6]) - timedelta(hours=1)]  # the second: too early
    pl.DataFrame({"date": [D[5], D[6]], "symbol": "AAA", "signal": "alpha", "value": [0.1, 0.2],
                  "published_at": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in stamps]}).write_csv(
        directory / "signals.csv"
    )  # fmt: skip
    return directory


#: Per rule: how to break a clean directory, and the rows quarantined per rule it must give.
CASES: dict[QcRule, tuple[Case, dict[str, int]]] = {
    QcRule.MISSING_VALUE: (_prices(close=""), {"missing_value": 1}),
    QcRule.UNPARSABLE_DATE: (_extra_row(date="2024-02-30"), {"unparsable_date": 1}),
    QcRule.UNPARSABLE_NUMBER: (_prices(volume="12x"), {"unparsable_number": 1}),
    QcRule.UNPARSABLE_TIME: (_action("dividend", 0.1, "yesterday"), {"unparsable_time": 1}),
    QcRule.NON_FINITE_NUMBER: (_prices(high="inf"), {"non_finite_number": 1}),
    QcRule.FUTURE_DATE: (_extra_row(date="2099-01-02"), {"future_date": 1}),
    QcRule.NON_POSITIVE_PRICE: (_prices(close="-5"), {"non_positive_price": 1}),
    QcRule.PRICE_TOO_LARGE: (_prices(high="1e9"), {"price_too_large": 1}),
    QcRule.HIGH_LOW_INCONSISTENT: (_prices(high="1.0"), {"high_low_inconsistent": 1}),
    QcRule.NEGATIVE_VOLUME: (_prices(volume="-100"), {"negative_volume": 1}),
    QcRule.FRACTIONAL_VOLUME: (_prices(volume="1234.5"), {"fractional_volume": 1}),
    QcRule.VOLUME_TOO_LARGE: (_prices(volume="1e20"), {"volume_too_large": 1}),
    QcRule.UNKNOWN_ACTION: (_action("merger", 1.0), {"unknown_action": 1}),
    QcRule.SPLIT_RATIO_NON_POSITIVE: (_action("split", 0.0), {"split_ratio_non_positive": 1}),
    QcRule.SPLIT_RATIO_IMPLAUSIBLE: (_action("split", 1e9), {"split_ratio_implausible": 1}),
    QcRule.DIVIDEND_NON_POSITIVE: (_action("dividend", -0.5), {"dividend_non_positive": 1}),
    QcRule.LISTING_DATES_INCONSISTENT: (_bad_listing, {"listing_dates_inconsistent": 1, "unknown_symbol": len(D)}),
    QcRule.NOT_A_SESSION: (_extra_row(date="2024-01-06"), {"not_a_session": 1}),
    QcRule.UNKNOWN_SYMBOL: (_extra_row(symbol="ZZZ"), {"unknown_symbol": 1}),
    QcRule.OUTSIDE_LISTING: (_delisted_early, {"outside_listing": len(D) - 51}),
    QcRule.PUBLISHED_BEFORE_CLOSE: (_signal_before_close, {"published_before_close": 1}),
    QcRule.DUPLICATE_ROW: (_duplicate, {"duplicate_row": 1}),
    QcRule.DIVIDEND_NOT_BELOW_PRICE: (_action("dividend", 1000.0), {"dividend_not_below_price": 1}),
    QcRule.PRICE_SPIKE: (_spike, {"price_spike": 1}),
    QcRule.UNCONFIRMED_JUMP: (_last_bar_jump, {"unconfirmed_jump": 1}),
    # Six identical traded bars: the 5th and 6th in the run (the rule is causal; see _stale).
    QcRule.STALE_PRICE: (_stale, {"stale_price": 2}),
}


def test_cases_when_listed_cover_every_rule() -> None:
    assert set(CASES) == set(QcRule)


@pytest.mark.parametrize("rule", list(QcRule), ids=str)
def test_ingest_when_one_rule_breaks_quarantines_exactly_its_rows(tmp_path: Path, rule: QcRule) -> None:
    build, expected = CASES[rule]
    store = HistoricalStore(tmp_path / "lake")
    report = ingest(store, build(tmp_path / "vendor"), LENIENT)
    assert report.quarantined == expected
    quarantine = store.read(Table.QUARANTINE)
    assert len(quarantine) == sum(expected.values())
    row = quarantine.filter(pl.col("rule") == rule.value).row(0, named=True)
    assert row["source"].startswith("vendor/")
    assert row["row"] >= 1
    assert row["reason"]
    assert row["field"] in {"date", "symbol", "open", "high", "low", "close", "volume", "action", "value",
                            "announced_at", "delisted", "published_at"}  # fmt: skip


def test_ingest_when_clean_quarantines_nothing_and_loads_every_row(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    report = ingest(store, write_vendor(tmp_path / "vendor"))
    assert report.quarantined == {}
    assert report.loaded[Table.PRICES_DAILY.value] == len(D) * 3


def test_spike_when_quarantined_the_session_after_it_loads(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, _spike(tmp_path / "vendor"))
    aaa = store.read(Table.PRICES_DAILY, where="symbol = 'AAA'")["date"].to_list()
    assert D[30] not in aaa
    assert D[31] in aaa
    assert D[29] in aaa


def test_quarantine_when_value_bad_records_row_field_and_value_as_read(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, _prices(volume="12x")(tmp_path / "vendor"))
    row = store.read(Table.QUARANTINE).row(0, named=True)
    # prices.csv lists AAA's sessions first: the 11th session is data row 11.
    assert (row["row"], row["field"], row["value"], row["symbol"]) == (11, "volume", "12x", "AAA")
    assert row["date"] == D[10]


def test_duplicate_when_repeated_first_copy_loads(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, _duplicate(tmp_path / "vendor"))
    q = store.read(Table.QUARANTINE).row(0, named=True)
    assert q["row"] == len(D) * 3 + 1  # the appended copy, not the original (row 8)
    assert store.read(Table.PRICES_DAILY).height == len(D) * 3


def test_split_when_raw_price_drops_tenfold_is_not_a_spike(tmp_path: Path) -> None:
    prices = split_prices(clean_prices(), "AAA", D[25], 10.0)
    actions = actions_frame([(D[25], "AAA", "split", 10.0, "2024-02-01T21:30:00Z")])
    report = ingest(HistoricalStore(tmp_path / "lake"), write_vendor(tmp_path / "v", prices, actions))
    assert report.quarantined == {}


def test_dividend_check_when_price_known_uses_previous_close(tmp_path: Path) -> None:
    close = clean_prices().filter((pl.col("date") == D[19].isoformat()) & (pl.col("symbol") == "AAA"))["close"][0]
    report = ingest(HistoricalStore(tmp_path / "lake"), _action("dividend", close * 0.99)(tmp_path / "v"))
    assert report.quarantined == {}
    report = ingest(HistoricalStore(tmp_path / "lake2"), _action("dividend", close)(tmp_path / "w"))
    assert report.quarantined == {"dividend_not_below_price": 1}


def test_stale_when_bar_repeats_without_volume_is_kept(tmp_path: Path) -> None:
    directory = _stale(tmp_path / "v")
    prices = pl.read_csv(directory / "prices.csv")
    run = (pl.col("symbol") == "AAA") & pl.col("date").is_between(pl.lit(D[41].isoformat()), pl.lit(D[45].isoformat()))
    prices.with_columns(pl.when(run).then(0).otherwise(pl.col("volume")).alias("volume")).write_csv(
        directory / "prices.csv"
    )
    assert ingest(HistoricalStore(tmp_path / "lake"), directory).quarantined == {}


def test_rules_when_listed_run_in_declared_order() -> None:
    assert list(QcRule)[0] is QcRule.MISSING_VALUE
    assert list(QcRule).index(QcRule.DUPLICATE_ROW) < list(QcRule).index(QcRule.PRICE_SPIKE)
    assert date(2024, 1, 6) not in D


def test_config_when_loaded_from_yaml_overrides_only_given_thresholds(tmp_path: Path) -> None:
    path = tmp_path / "qc.yaml"
    path.write_text("spike_k: 8\nstale_sessions: 4\n")
    cfg = QcConfig.from_yaml(path)
    assert cfg == QcConfig(spike_k=8.0, stale_sessions=4)
    assert cfg.config_version != QcConfig().config_version


def test_config_when_threshold_out_of_range_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "qc.yaml"
    path.write_text("max_quarantine_fraction: 2\n")
    with pytest.raises(ConfigError, match=r"qc\.yaml: qc config key 'max_quarantine_fraction': Input should be"):
        QcConfig.from_yaml(path)
