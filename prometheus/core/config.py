"""Typed, frozen configs with a content-hash version (STYLE item 5).

A config's version is the SHA-256 of its canonical JSON together with its kind (the engine it configures), so the
same settings of two different engines never share a version, and any change of any value is a new version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar, Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from prometheus.core.errors import ConfigError


class VersionedConfig(BaseModel):
    """Base of every engine config: frozen, unknown keys rejected, versioned by content."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: What the config configures (an engine name); part of the version.
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
    def from_mapping(cls, values: dict[str, Any], *, source: str = "config") -> Self:
        """Validate ``values``; errors name the source and the offending key.

        Raises
        ------
        ConfigError
            Unknown key, missing key or bad value.
        """
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            raise ConfigError(f"{source}: {cls.kind} config key {where!r}: {first['msg']}", setting=where) from None

    @classmethod
    def from_yaml(cls, path: Path, *, section: str | None = None) -> Self:
        """Load from a YAML file (optionally one top-level ``section`` of it).

        Raises
        ------
        ConfigError
            Missing or unparsable file, missing section, or invalid values.
        """
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}", setting=str(path)) from None
        if section is not None:
            if not isinstance(data, dict) or section not in data:
                raise ConfigError(f"{path}: no section {section!r}", setting=section)
            data = data[section] or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of keys to values", setting=str(path))
        return cls.from_mapping(data, source=str(path))
