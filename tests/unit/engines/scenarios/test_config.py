"""ScenarioConfig: defaults from the methods, validation naming the key, content hash, cadence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from prometheus.core.errors import ConfigError
from prometheus.engines.scenarios.config import GarchDist, GarchFit, ScenarioConfig, ScenarioKind


def test_config_when_defaulted_matches_the_methods() -> None:
    cfg = ScenarioConfig()
    assert (cfg.paths, cfg.horizon_sessions, cfg.history_sessions) == (1000, 20, 756)
    assert set(cfg.generators) == set(ScenarioKind)
    assert cfg.garch.asymmetric
    assert cfg.garch.dist == GarchDist.STUDENT_T
    assert cfg.garch.fit == GarchFit.MARKET
    assert cfg.block_length is None
    assert (cfg.market_shock, cfg.sector_shock, cfg.crisis_correlation) == (-0.10, -0.20, 0.6)
    assert cfg.var_levels == (0.95, 0.99)
    assert cfg.every_sessions == 5
    assert ScenarioConfig.kind == "scenarios"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"no_such_key": 1}, "no_such_key"),
        ({"paths": 0}, "paths"),
        ({"generators": ["replay", "replay"]}, "generators"),
        ({"var_levels": [0.95, 1.2]}, "var_levels"),
        ({"crisis_correlation": 1.0}, "crisis_correlation"),
        ({"garch": {"dist": "cauchy"}}, "garch.dist"),
        ({"replay_windows": [{"name": "x", "start": "2020-03-01", "end": "2020-02-01"}]}, "replay_windows[0]"),
        ({"replay_windows": [{"name": "x", "start": "2020-01-01", "end": "2020-02-01"}] * 2}, "replay_windows"),
    ],
)
def test_config_when_value_bad_is_config_error_naming_the_key(values: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        ScenarioConfig.from_mapping(values)
    assert info.value.setting is not None
    assert info.value.setting.startswith(key)


def test_config_when_loaded_from_yaml_round_trips_with_the_same_version(tmp_path: Path) -> None:
    cfg = ScenarioConfig.from_mapping(
        {
            "seed": 3,
            "block_length": 4.5,
            "replay_windows": [{"name": "covid", "start": "2020-02-19", "end": "2020-03-23"}],
            "shock_sectors": ["Energy"],
        }
    )
    assert cfg.replay_windows[0].start == dt.date(2020, 2, 19)
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    assert ScenarioConfig.from_yaml(path).config_version == cfg.config_version
    assert ScenarioConfig(seed=4).config_version != ScenarioConfig(seed=3).config_version


def test_runs_on_when_weekly_is_every_fifth_session() -> None:
    assert [i for i in range(12) if ScenarioConfig().runs_on(i)] == [0, 5, 10]
    assert all(ScenarioConfig(every_sessions=1).runs_on(i) for i in range(3))
