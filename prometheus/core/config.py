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
            where = _dotted(errors[0]["loc"])
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ConfigError(
                f"{source}: {cls.kind} config key {where!r}: {errors[0]['msg']}{more}", setting=where
            ) from None
        except ConfigError as exc:
            # A cross-field validator raised it: it knows the key but not the file.
            where = exc.setting or "(root)"
            raise ConfigError(f"{source}: {cls.kind} config key {where!r}: {exc}", setting=where) from None

    @classmethod
    def from_yaml(cls, path: Path, *, section: str | None = None) -> Self:
        """Load from a YAML file (optionally one top-level ``section`` of it); the one YAML loader of configs.

        Raises
        ------
        ConfigError
            Missing or unparsable file, missing section, not a mapping, or invalid values; the message names the
            file and the key.
        """
        try:
            data = yaml.safe_load(Path(path).read_text())
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
        return cls.from_mapping(data, source=str(path))


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``("costs", "tiers", 0)`` -> ``"costs.tiers[0]"``; the root is ``"(root)"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(root)"
