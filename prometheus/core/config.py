"""The one config system: typed, frozen configs with a content-hash version (STYLE item 5).

Every config that shapes a result (engines, encoders, profiles, planner, simulator, costs, risk limits, QC, the
synthetic market) is a :class:`VersionedConfig`. A config's version is the SHA-256 of its canonical JSON together
with its kind (what it configures), so the same settings of two different components never share a version, and
any change of any value is a new version. :meth:`VersionedConfig.from_yaml` is the one YAML loader and
:attr:`VersionedConfig.config_version` the one hash; no other module reads config files or hashes configs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from prometheus.core.errors import ConfigError


class VersionedConfig(BaseModel):
    """Base of every config: frozen, unknown keys rejected, versioned by content."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: What the config configures (an engine or component name, unique per class); part of the version.
    kind: ClassVar[str] = "config"

    def canonical_json(self) -> str:
        """Canonical JSON of kind and values: sorted keys, no whitespace."""
        body = {"kind": self.kind, "config": self.model_dump(mode="json")}
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @property
    def config_version(self) -> str:
        """SHA-256 hex digest of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "config") -> Self:
        """Validate ``values``; errors name the source and the offending key by its full dotted path.

        Raises
        ------
        ConfigError
            Unknown key, missing key or bad value (the first of them; the message counts the others).
        """
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            errors = exc.errors()
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            first = cls._key_error(source, errors[0])
            raise ConfigError(f"{first}{more}", setting=first.setting) from None
        except ConfigError as exc:
            raise cls._cross_field_error(source, exc) from None

    @classmethod
    def from_yaml(cls, path: Path, *, section: str | None = None) -> Self:
        """Load from a YAML file (optionally one top-level ``section`` of it); the one YAML loader of configs.

        Raises
        ------
        ConfigError
            Missing or unparsable file, a key written twice in one mapping (YAML would keep the last value
            silently), missing section, not a mapping, or invalid values; the message names the file and the key.
        """
        return cls.from_mapping(cls._yaml_mapping(path, section), source=str(path))

    @classmethod
    def yaml_problems(cls, path: Path, *, section: str | None = None) -> list[ConfigError]:
        """Every problem :meth:`from_yaml` would meet in ``path``, one error per bad key (empty: valid).

        :meth:`from_yaml` stops at the first; a check that lists them all spares the fix-and-retry loop.
        """
        try:
            data = cls._yaml_mapping(path, section)
            cls.model_validate(data)
        except ConfigError as exc:
            # Unreadable file (already naming it), or a cross-field validator (naming its key, not the file).
            return [exc if str(exc).startswith(f"{path}:") else cls._cross_field_error(str(path), exc)]
        except ValidationError as exc:
            return [cls._key_error(str(path), error) for error in exc.errors()]
        return []

    @classmethod
    def _yaml_mapping(cls, path: Path, section: str | None) -> dict[str, Any]:
        try:
            data = load_yaml(Path(path).read_text())
        except DuplicateKeyError as exc:
            raise ConfigError(f"{path}: {cls.kind} config: {exc}", setting=exc.key) from None
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read {cls.kind} config: {exc}", setting=str(path)) from None
        if section is not None:
            if not isinstance(data, dict) or section not in data:
                raise ConfigError(f"{path}: no section {section!r}", setting=section)
            data = data[section]
        # An empty file (or section) is an empty mapping: every default, or "missing key" where one is required.
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: {cls.kind} config must be a YAML mapping of keys to values", setting=str(path))
        return data

    @classmethod
    def _key_error(cls, source: str, error: Mapping[str, Any]) -> ConfigError:
        where = _dotted(error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ")
        return ConfigError(f"{source}: {cls.kind} config key {where!r}: {msg}", setting=where)

    @classmethod
    def _cross_field_error(cls, source: str, exc: ConfigError) -> ConfigError:
        # A cross-field validator raised it: it knows the key but not the file.
        where = exc.setting or "(root)"
        return ConfigError(f"{source}: {cls.kind} config key {where!r}: {exc}", setting=where)


class DuplicateKeyError(yaml.YAMLError):
    """A mapping of a YAML document holds the same key twice."""

    def __init__(self, key: str, line: int, first_line: int) -> None:
        super().__init__(
            f"key {key!r} is written twice, on lines {first_line} and {line}; keep one (YAML would silently "
            "use the last)"
        )
        self.key = key


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            # A merge key ("<<: *defaults") may be overridden by the keys after it: that is its purpose.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise DuplicateKeyError(str(key), line, seen[key])
                seen[key] = line
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse YAML like ``yaml.safe_load``, but a key written twice in one mapping is an error.

    Raises
    ------
    DuplicateKeyError
        A mapping holds a key twice (the message gives both lines).
    yaml.YAMLError
        The text is not YAML.
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506  (a SafeLoader subclass)


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``("costs", "tiers", 0)`` -> ``"costs.tiers[0]"``; the root is ``"(root)"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(root)"
