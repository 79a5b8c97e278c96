"""VersionedConfig: the one YAML loader and the one content hash of every config."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from pydantic import Field, model_validator

from prometheus.core.config import DuplicateKeyError, VersionedConfig, load_yaml
from prometheus.core.errors import ConfigError


class _Inner(VersionedConfig):
    kind: ClassVar[str] = "inner"

    rate: float = Field(0.5, ge=0.0)
    bands: tuple[tuple[float, float], ...] = ((1.0, 2.0),)


class _Outer(VersionedConfig):
    kind: ClassVar[str] = "outer"

    window: int = Field(20, ge=1)
    inner: _Inner | None = Field(default_factory=_Inner)


class _Twin(VersionedConfig):
    """Same fields as :class:`_Outer`, another kind."""

    kind: ClassVar[str] = "twin"

    window: int = Field(20, ge=1)
    inner: _Inner | None = Field(default_factory=_Inner)


class _CrossField(VersionedConfig):
    kind: ClassVar[str] = "cross_field"

    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> _CrossField:
        if self.low >= self.high:
            raise ConfigError("low must be below high", setting="low")
        return self


#: Canonical JSON of ``_Outer()``: kind and values, sorted keys, no whitespace.
OUTER_JSON = '{"config":{"inner":{"bands":[[1.0,2.0]],"rate":0.5},"window":20},"kind":"outer"}'


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_canonical_json_when_default_is_sorted_compact_and_holds_kind() -> None:
    assert _Outer().canonical_json() == OUTER_JSON


def test_config_version_when_default_is_sha256_of_canonical_json() -> None:
    assert _Outer().config_version == hashlib.sha256(OUTER_JSON.encode()).hexdigest()


def test_config_version_when_values_equal_is_equal() -> None:
    assert _Outer(window=5).config_version == _Outer.from_mapping({"window": 5}).config_version


@pytest.mark.parametrize("change", [{"window": 21}, {"inner": {"rate": 0.6}}, {"inner": None}])
def test_config_version_when_any_value_changes_changes(change: dict[str, object]) -> None:
    assert _Outer.from_mapping(change).config_version != _Outer().config_version


def test_config_version_when_kinds_differ_differs() -> None:
    assert _Outer().model_dump() == _Twin().model_dump()
    assert _Outer().config_version != _Twin().config_version


def test_from_mapping_when_nested_key_unknown_names_dotted_path() -> None:
    with pytest.raises(ConfigError, match=r"^run\.yaml: outer config key 'inner\.rat': Extra inputs") as info:
        _Outer.from_mapping({"inner": {"rat": 1}}, source="run.yaml")
    assert info.value.setting == "inner.rat"


def test_from_mapping_when_tuple_item_bad_names_indexed_path() -> None:
    with pytest.raises(ConfigError, match=r"outer config key 'inner\.bands\[0\]\[1\]'") as info:
        _Outer.from_mapping({"inner": {"bands": [[1.0, "x"]]}})
    assert info.value.setting == "inner.bands[0][1]"


def test_from_mapping_when_several_errors_reports_first_and_counts_rest() -> None:
    with pytest.raises(ConfigError, match=r"key 'window'.*\(and 1 more\)$"):
        _Outer.from_mapping({"window": 0, "inner": {"rate": -1}})


def test_from_mapping_when_validator_raises_config_error_adds_source_and_key() -> None:
    with pytest.raises(ConfigError, match=r"^run\.yaml: cross_field config key 'low': low must be below high$"):
        _CrossField.from_mapping({"low": 2.0}, source="run.yaml")


def test_from_yaml_when_valid_file_loads_values(tmp_path: Path) -> None:
    cfg = _Outer.from_yaml(_yaml(tmp_path, "window: 7\ninner:\n  rate: 0.25\n"))
    assert (cfg.window, cfg.inner) == (7, _Inner(rate=0.25))


def test_from_yaml_when_file_empty_gives_defaults(tmp_path: Path) -> None:
    assert _Outer.from_yaml(_yaml(tmp_path, "# nothing set\n")) == _Outer()


def test_from_yaml_when_section_given_reads_only_that_section(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "outer:\n  window: 3\nother:\n  anything: 1\n")
    assert _Outer.from_yaml(path, section="outer").window == 3


def test_from_yaml_when_section_missing_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no section 'outer'"):
        _Outer.from_yaml(_yaml(tmp_path, "other: {}\n"), section="outer")


def test_from_yaml_when_bad_value_names_file_and_key(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "window: 0\n")
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(path))}: outer config key 'window': Input should be greater"
    ):
        _Outer.from_yaml(path)


def test_from_yaml_when_not_a_mapping_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        _Outer.from_yaml(_yaml(tmp_path, "- 1\n- 2\n"))


def test_from_yaml_when_unparsable_raises_naming_file(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "window: [1\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: cannot read outer config"):
        _Outer.from_yaml(path)


def test_from_yaml_when_file_missing_raises_naming_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.yaml: cannot read outer config"):
        _Outer.from_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        ("window: 3\nwindow: 4\n", "window", "lines 1 and 2"),
        ("inner:\n  rate: 0.1\n  bands: []\n  rate: 0.2\n", "rate", "lines 2 and 4"),
        ("window: 3\ninner: {rate: 0.1, rate: 0.2}\n", "rate", "lines 2 and 2"),
    ],
)
def test_from_yaml_when_key_written_twice_raises_naming_file_key_and_lines(
    tmp_path: Path, text: str, key: str, lines: str
) -> None:
    path = _yaml(tmp_path, text)
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(path))}: outer config: key '{key}' is written twice"
    ) as info:
        _Outer.from_yaml(path)
    assert lines in str(info.value)
    assert info.value.setting == key


def test_from_yaml_when_merge_key_then_override_loads_the_override(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "defaults: &d {rate: 0.1}\nouter:\n  window: 3\n  inner:\n    <<: *d\n    rate: 0.3\n")
    assert _Outer.from_yaml(path, section="outer").inner == _Inner(rate=0.3)


def test_load_yaml_when_keys_distinct_matches_safe_load() -> None:
    text = "a: 1\nb: [1, 2]\nc: {d: x, e: null}\n"
    assert load_yaml(text) == {"a": 1, "b": [1, 2], "c": {"d": "x", "e": None}}


def test_load_yaml_when_key_repeated_raises_duplicate_key_error() -> None:
    with pytest.raises(DuplicateKeyError, match="key 'a' is written twice, on lines 1 and 3"):
        load_yaml("a: 1\nb: 2\na: 3\n")


def test_load_yaml_when_tag_would_build_python_object_refuses() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")


def test_yaml_problems_when_several_keys_bad_lists_each_naming_file_and_key(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "window: 0\nwindo: 3\ninner:\n  rate: -1\n")

    problems = _Outer.yaml_problems(path)

    assert [p.setting for p in problems] == ["window", "inner.rate", "windo"]
    assert all(str(p).startswith(f"{path}: outer config key ") for p in problems)


@pytest.mark.parametrize(
    ("text", "says"),
    [("", None), ("window: [1\n", "cannot read outer config"), ("window: 1\nwindow: 2\n", "written twice")],
)
def test_yaml_problems_when_file_valid_or_unreadable_gives_none_or_one(
    tmp_path: Path, text: str, says: str | None
) -> None:
    problems = _Outer.yaml_problems(_yaml(tmp_path, text))

    assert [says in str(p) for p in problems] == ([] if says is None else [True])


def test_yaml_problems_when_cross_field_rule_broken_names_file_and_key(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "low: 2.0\n")

    (problem,) = _CrossField.yaml_problems(path)

    assert str(problem) == f"{path}: cross_field config key 'low': low must be below high"
