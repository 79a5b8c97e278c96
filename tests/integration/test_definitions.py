"""The code location: loads per mode, partitions per mode, and a snapshot of the asset graph."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus_assets.definitions import build_definitions, configured_markets
from prometheus_assets.ingestion import INGESTED_TABLES
from prometheus_assets.partitions import partitions_for, sessions_in_window
from prometheus_resources import BacktestBrokerResource, IbBrokerResource
from tests.support.fake_ib_gateway import FakeIbGateway, SymbolSpec

MARKET_KEYS = {m: dg.AssetKey([m.value.lower(), "trading_sessions"]) for m in Market}


def _settings(tmp_path: Path, **env: str):
    return load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path), **env})


def test_definitions_when_backtest_load_and_validate(tmp_path: Path) -> None:
    defs = build_definitions(_settings(tmp_path))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert MARKET_KEYS[Market.US_EQ] in graph.get_all_asset_keys()
    everywhere = build_definitions(_settings(tmp_path, PROMETHEUS_MARKETS=",".join(m.value for m in Market)))
    dg.Definitions.validate_loadable(everywhere)
    assert set(MARKET_KEYS.values()) <= set(everywhere.resolve_asset_graph().get_all_asset_keys())


def test_asset_graph_snapshot_when_backtest_is_stable(tmp_path: Path) -> None:
    """Snapshot of keys, partitions, groups, deps, checks and jobs: a change here is a deliberate change."""
    defs = build_definitions(_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    snapshot = {
        key.to_user_string(): (
            type(graph.get(key).partitions_def).__name__,
            graph.get(key).group_name,
            sorted(k.to_user_string() for k in graph.get(key).parent_keys),
        )
        for key in graph.get_all_asset_keys()
    }
    p, monthly, periods = "us_eq", "MonthlyPartitionsDefinition", "TimeWindowPartitionsDefinition"
    expected = {f"{p}/trading_sessions": (monthly, p, [])}
    expected |= {f"{p}/{t.value}": (monthly, p, [f"{p}/trading_sessions"]) for t in INGESTED_TABLES}
    expected[f"{p}/reference_series"] = ("NoneType", p, [])
    # Engine deps come from the engines' declared inputs (tables written by assets) and upstream engines.
    regime_inputs = [f"{p}/instruments", f"{p}/macro_observations", f"{p}/prices_adjusted"]
    expected[f"{p}/regime_model"] = (periods, p, regime_inputs)
    expected[f"{p}/regime_states"] = (monthly, p, [*regime_inputs, f"{p}/regime_model"])
    expected[f"{p}/stability_scores"] = (monthly, p, [f"{p}/instruments", f"{p}/prices_adjusted"])
    expected[f"{p}/fragility_scores"] = (monthly, p, [f"{p}/instruments", f"{p}/prices_adjusted"])
    expected[f"{p}/universe_members"] = (monthly, p, [f"{p}/instruments", f"{p}/prices_adjusted", f"{p}/quarantine"])
    assessment_inputs = [f"{p}/{t}" for t in ("events", "fragility_scores", "instrument_embeddings", "instruments",
                                               "news_embeddings", "prices_adjusted", "profiles", "regime_states",
                                               "signals", "stability_scores")]  # fmt: skip
    expected[f"{p}/assessment_model"] = (periods, p, assessment_inputs)
    expected[f"{p}/assessments"] = (monthly, p, sorted([*assessment_inputs, f"{p}/assessment_model"]))
    book_inputs = [f"{p}/{t}" for t in ("assessments", "fragility_scores", "instruments", "prices_adjusted",
                                         "regime_states", "stability_scores", "universe_members")]  # fmt: skip
    expected[f"{p}/target_portfolios"] = (monthly, p, book_inputs)
    expected[f"{p}/scenario_sets"] = (monthly, p, [f"{p}/instruments", f"{p}/prices_adjusted", f"{p}/regime_states",
                                                   f"{p}/target_portfolios"])  # fmt: skip
    # The backtest depends on its own previous partition (the account carries over).
    expected[f"{p}/backtest_daily"] = (monthly, p, sorted(f"{p}/{t}" for t in (
        "backtest_daily", "corporate_actions", "prices_daily", "regime_states", "target_portfolios",
        "universe_members")))  # fmt: skip
    # In BACKTEST the outcomes also price the simulated orders (execution outcomes), so they follow the backtest.
    expected[f"{p}/decision_outcomes"] = (monthly, p, sorted(f"{p}/{t}" for t in (
        "assessments", "backtest_daily", "fragility_scores", "instruments", "prices_adjusted", "regime_states",
        "stability_scores", "target_portfolios")))  # fmt: skip
    expected[f"{p}/kronos_report"] = ("NoneType", p, [f"{p}/decision_outcomes"])
    expected[f"{p}/encoder_model"] = (periods, p, [f"{p}/prices_adjusted"])
    expected[f"{p}/instrument_embeddings"] = (monthly, p, [f"{p}/encoder_model", f"{p}/prices_adjusted"])
    expected[f"{p}/news_embeddings"] = (monthly, p, [f"{p}/news"])
    expected[f"{p}/profiles"] = (monthly, p, [f"{p}/instrument_embeddings", f"{p}/prices_adjusted"])
    assert snapshot == expected
    flows = ("trading_sessions", "ingestion", "encoder_model", "encoders", "news", "regime_model", "engines",
             "assessment_model", "assessment", "portfolio", "backtest", "outcomes", "kronos")  # fmt: skip
    assert sorted(j.name for j in defs.jobs) == sorted([*(f"us_eq_{f}_job" for f in flows), "us_eq_reference_job"])
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    ingestion = {("prices_daily", "qc_quarantine"), ("prices_daily", "missing_sessions"),
                 ("prices_adjusted", "fit_for_engines")}  # fmt: skip
    output = {"schema", "one_row_set_per_session", "no_nan_in_decision_columns"}
    engines = {(t, c) for t in ("regime_states", "stability_scores", "fragility_scores", "assessments",
                                "universe_members", "target_portfolios", "scenario_sets")
               for c in output}  # fmt: skip
    engines.add(("regime_states", "probabilities_valid"))
    engines |= {("target_portfolios", f"risk_reports__{c}") for c in output}
    engines |= {("scenario_sets", f"scenario_results__{c}") for c in output}
    engines |= {("target_portfolios", "limits_hold"), ("scenario_sets", "var_not_above_es")}  # their own checks
    engines |= {("backtest_daily", "equity_reconciles"), ("backtest_daily", "no_missing_results")}
    engines |= {("decision_outcomes", "known_after_horizon"), ("kronos_report", "no_degraded_config")}
    encoders = {(t, c) for t in ("instrument_embeddings", "profiles") for c in output}
    encoders |= {(t, c) for t in ("encoder_model", "news_embeddings") for c in ("schema", "no_nan_in_decision_columns")}
    assert checks == {(f"{p}/{table}", name) for table, name in ingestion | engines | encoders}
    # Layers are tags; every partitioned asset starts at the configured history start.
    layers = {graph.get(k).tags.get("prometheus/layer") for k in graph.get_all_asset_keys()}
    assert layers == {"calendar", "ingestion", "encoders", "models", "engines", "backtest", "meta"}
    assert graph.get(dg.AssetKey([p, "regime_states"])).partitions_def.get_partition_keys()[0] == "2014-01-01"


def test_markets_when_set_or_with_a_vendor_folder_are_in_the_code_location(tmp_path: Path) -> None:
    assert configured_markets(_settings(tmp_path)).markets == (Market.US_EQ,)
    (tmp_path / "vendor" / "jp_eq").mkdir(parents=True)
    found = configured_markets(_settings(tmp_path))
    assert found.markets == (Market.US_EQ, Market.JP_EQ)
    assert "vendor folder" in found.reasons[Market.JP_EQ]
    only_eu = build_definitions(_settings(tmp_path, PROMETHEUS_MARKETS="EU_EQ"))
    groups = {
        only_eu.resolve_asset_graph().get(k).group_name for k in only_eu.resolve_asset_graph().get_all_asset_keys()
    }
    assert groups == {"eu_eq"}


def test_history_start_when_set_moves_the_first_partition(tmp_path: Path) -> None:
    defs = build_definitions(_settings(tmp_path, PROMETHEUS_HISTORY_START="2019-03-15"))
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["us_eq", "prices_daily"])).partitions_def.get_partition_keys()[0] == "2019-03-01"
    assert graph.get(dg.AssetKey(["us_eq", "regime_model"])).partitions_def.get_partition_keys()[0] == "2019"


@pytest.mark.parametrize(("mode", "account"), [("PAPER", "DU1234567"), ("LIVE", "U7654321")])
def test_definitions_when_ib_mode_load_with_ib_broker_and_connect_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, account: str
) -> None:
    env = {"PROMETHEUS_MODE": mode, "PROMETHEUS_IB_ACCOUNT": account, "PROMETHEUS_IB_CLIENT_ID": "9"}
    if mode == "LIVE":
        env["PROMETHEUS_LIVE_CONFIRM"] = account
    # A gateway listens on the configured port: loading the code location must not touch it.
    with FakeIbGateway({"AAA": SymbolSpec(1, 10.0)}, account=account) as gateway:
        env["PROMETHEUS_IB_PORT"] = str(gateway.port)
        for key, value in env.items():  # the resource reads the secrets through dg.EnvVar
            monkeypatch.setenv(key, value)
        defs = build_definitions(_settings(tmp_path, **env))
        dg.Definitions.validate_loadable(defs)
        broker = defs.resources["broker"]
        assert isinstance(broker, IbBrokerResource)
        assert gateway.requests == []
        assert gateway.client_ids == set()
        # As a run sees it: Dagster resolves the EnvVars when it initialises the resource.
        config = broker.process_config_and_initialize().ib_config()
    assert (config.mode, config.port, config.client_id, config.account) == (Mode(mode), gateway.port, 9, account)
    assert config.live_confirm == (account if mode == "LIVE" else None)
    assert account not in repr(config)
    assert {"us_eq/target_portfolios", "us_eq/prices_daily"} <= {
        k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()
    }


def test_definitions_when_backtest_use_the_backtest_broker(tmp_path: Path) -> None:
    assert isinstance(build_definitions(_settings(tmp_path)).resources["broker"], BacktestBrokerResource)


def test_definitions_when_paper_on_a_live_port_refuse_to_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PAPER mode refuses live port 4001"):
        build_definitions(_settings(tmp_path, PROMETHEUS_MODE="PAPER", PROMETHEUS_IB_PORT="4001"))


def test_partitions_when_backtest_are_months() -> None:
    keys = partitions_for(Market.US_EQ, Mode.BACKTEST).get_partition_keys()
    assert keys[0] == "2014-01-01"
    assert all(k.endswith("-01") for k in keys)


def test_partitions_when_live_are_exactly_the_sessions() -> None:
    pdef = partitions_for(Market.US_EQ, Mode.LIVE)
    keys = pdef.get_partition_keys()
    assert "2024-07-04" not in keys  # Independence Day
    assert "2024-11-30" not in keys  # a Saturday
    assert {"2024-07-03", "2024-07-05", "2024-11-29"} <= set(keys)
    # Every partition in 2024 is a session and every session is a partition.
    from prometheus.calendar import get_calendar

    in_2024 = [k for k in keys if k.startswith("2024-")]
    assert in_2024 == [d.isoformat() for d in get_calendar().sessions("US_EQ", "2024-01-01", "2024-12-31")]


def test_partitions_when_tokyo_live_exclude_tokyo_holidays() -> None:
    keys = set(partitions_for(Market.JP_EQ, Mode.PAPER).get_partition_keys())
    assert "2024-11-04" not in keys
    assert "2024-11-05" in keys


def test_sessions_in_window_when_month_partition_lists_its_sessions() -> None:
    pdef = partitions_for(Market.US_EQ, Mode.BACKTEST)
    window = pdef.time_window_for_partition_key("2024-11-01")
    sessions = sessions_in_window(Market.US_EQ, window)
    assert sessions[0] == date(2024, 11, 1)
    assert sessions[-1] == date(2024, 11, 29)
    assert date(2024, 11, 28) not in sessions
    assert len(sessions) == 20


def test_reconstructable_job_when_rebuilt_elsewhere_carries_the_experiment_configs_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distributed run's steps are rebuilt in worker processes from the definitions' recipe: the experiment's
    engine and backtest configs, the data root and markets the command used must survive, and the run's stored
    origin must not hold the settings' secrets."""
    from prometheus.backtest.config import BacktestConfig
    from prometheus.engines.pipeline import EngineChainConfig
    from prometheus_assets.definitions import reconstructable_job

    chain = EngineChainConfig.from_mapping({"portfolio": {"rebalance_every": 7}})
    backtest = BacktestConfig()
    settings = _settings(tmp_path, PROMETHEUS_MARKETS="US_EQ,EU_EQ", PROMETHEUS_IB_ACCOUNT="DU1234567")
    defs = build_definitions(settings, engines=chain, backtest=backtest)
    # The worker's environment: another data root, other markets, the default engine configs.
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PROMETHEUS_MARKETS", "US_EQ")
    recon = reconstructable_job(defs, "eu_eq_portfolio_job")
    rebuilt = recon.get_definition()
    assert rebuilt.name == "eu_eq_portfolio_job"
    versions = {n.key: n.code_version for n in rebuilt.asset_layer.asset_graph.asset_nodes}
    assert versions[dg.AssetKey(["eu_eq", "target_portfolios"])] == chain.portfolio.config_version
    assert chain.portfolio.config_version != EngineChainConfig().portfolio.config_version
    origin = str(recon.get_python_origin())
    assert str(tmp_path.resolve()) in origin
    assert "elsewhere" not in origin
    assert "DU1234567" not in origin
