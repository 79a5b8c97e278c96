"""Platform settings from ``PROMETHEUS_*`` environment variables.

Every variable that starts with ``PROMETHEUS_`` must be a known setting: a typo such as ``PROMETHEUS_MDOE=LIVE``
would otherwise start the platform in BACKTEST. :func:`check_settings` maps the variables to fields itself and
validates them with a frozen pydantic model (pydantic-settings added nothing to that and cost a sixth of the CLI's
start-up).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from prometheus.core.errors import ConfigError
from prometheus.core.types import Market, Mode

ENV_PREFIX = "PROMETHEUS_"

#: IB Gateway / TWS ports (METHODS "IBKR facts").
IB_GATEWAY_PAPER_PORT = 4002
IB_GATEWAY_LIVE_PORT = 4001
TWS_PAPER_PORT = 7497
TWS_LIVE_PORT = 7496
LIVE_PORTS = frozenset({IB_GATEWAY_LIVE_PORT, TWS_LIVE_PORT})

#: Settings whose values are masked when shown.
SECRET_FIELDS = frozenset({"ib_account", "live_confirm", "alert_webhook"})
#: What a masked secret is shown as.
MASK = "****"
#: A URL query parameter (or ``key=value`` in a message) is secret when its name contains one of these.
SECRET_QUERY_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "credential", "auth")
# scheme://user:password@ as SQLAlchemy's URL grammar reads it: user up to ":" or "/", password up to "@".
_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@")
# name=value in a query string, a libpq keyword string or a message; the value ends at a separator or quote.
_PARAMETER = re.compile(r"(?P<key>(?<![\w%])(?P<name>[\w.%+-]+))=(?P<value>[^&;#\s'\"]*)")


class Settings(BaseModel):
    """Effective settings of one process. Built by :func:`load_settings`, never at import time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field(Mode.BACKTEST, description="BACKTEST (default), PAPER or LIVE.")
    data_root: Path = Field(Path("./data"), description="Root of everything the project writes.")
    runtime_db_url: str | None = Field(
        None, description="SQLAlchemy URL of the runtime store; default a SQLite file under the data root."
    )
    ib_host: str = Field("127.0.0.1", description="IB Gateway / TWS host.")
    ib_port: int | None = Field(None, ge=1, le=65535, description="IB port; default 4002 (PAPER) or 4001 (LIVE).")
    ib_client_id: int = Field(1, ge=0, description="IB API client id.")
    ib_account: str | None = Field(None, description="IB account id (masked when shown).")
    live_confirm: str | None = Field(None, description="Must equal the IB account id for LIVE to start.")
    ib_foreign_orders: Literal["alert", "adopt", "cancel"] = Field(
        "alert",
        description="Orders at IB that Prometheus did not send, found by reconciliation: alert only (default), "
        "adopt them as ours, or cancel those placed under our client id (always alerted).",
    )
    risk_limits_file: Path | None = Field(None, description="YAML file of RiskGate limits.")
    bar_delay_seconds: int = Field(300, ge=0, description="Seconds after the close until a daily bar is known.")
    pre_open_minutes: int = Field(60, ge=0, description="Length of the PRE_OPEN window before an open.")
    post_close_minutes: int = Field(60, ge=0, description="Length of the POST_CLOSE window after a close.")
    max_data_lag_sessions: int = Field(
        1,
        ge=0,
        description="Sessions a session's newest input bar may lag behind it before the session counts as "
        "stale (prometheus.data.freshness); 0: the session's own bar is required.",
    )
    markets: str | None = Field(
        None,
        description="Comma-separated markets of the code location (e.g. 'US_EQ,EU_EQ'); default: US_EQ (the "
        "embedded synthetic market) plus every market with a vendor folder under the data root.",
    )
    history_start: date = Field(date(2014, 1, 1), description="First day of the partitions (the data's history).")
    alert_webhook: str | None = Field(
        None,
        description="http(s) URL that receives every alert as a JSON POST (prometheus.orchestration.alerts); "
        "unset: alerts go to the alerts table and the log only.",
    )
    executor: Literal["in_process", "celery"] = Field(
        "in_process",
        description="Executor of the code location's jobs: in_process (default: one process, imports paid once) or "
        "celery (each step a task on the `dagster-celery` workers; docs/distributed.md).",
    )
    celery_broker: str = Field(
        "pyamqp://guest@127.0.0.1:5672//", description="Celery broker URL of the celery executor and its workers."
    )
    celery_queue: str = Field(
        "dagster", min_length=1, description="Celery queue the steps are sent to and the workers listen on."
    )

    @field_validator("alert_webhook")
    @classmethod
    def _webhook_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _check_mode_rules(self) -> Settings:
        if self.risk_limits_file is not None and not self.risk_limits_file.is_file():
            raise ValueError(f"risk_limits_file: file not found: {self.risk_limits_file}")
        if self.mode is Mode.PAPER and self.effective_ib_port in LIVE_PORTS:
            raise ValueError(
                f"ib_port: PAPER mode refuses live port {self.effective_ib_port}; "
                f"use {IB_GATEWAY_PAPER_PORT} (IB Gateway paper) or {TWS_PAPER_PORT} (TWS paper)"
            )
        if self.mode is Mode.LIVE:
            if not self.ib_account:
                raise ValueError("ib_account: LIVE mode needs the IB account id")
            if self.live_confirm != self.ib_account:
                raise ValueError(
                    "live_confirm: LIVE refuses to start unless PROMETHEUS_LIVE_CONFIRM equals the account id"
                )
        return self

    @property
    def effective_ib_port(self) -> int:
        """The IB port in force: the configured one or the mode's IB Gateway default."""
        if self.ib_port is not None:
            return self.ib_port
        return IB_GATEWAY_LIVE_PORT if self.mode is Mode.LIVE else IB_GATEWAY_PAPER_PORT

    @property
    def data_path(self) -> Path:
        """Absolute data root."""
        return self.data_root.expanduser().resolve()

    @property
    def effective_runtime_db_url(self) -> str:
        """The runtime store URL in force (SQLite under the data root unless configured)."""
        if self.runtime_db_url:
            return self.runtime_db_url
        return f"sqlite:///{self.data_path / 'runtime.sqlite'}"

    @property
    def lake_path(self) -> Path:
        """Root of the Parquet lake of the historical store."""
        return self.data_path / "lake"

    @field_validator("markets")
    @classmethod
    def _known_markets(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [m.strip().upper() for m in value.split(",") if m.strip()]
        unknown = [n for n in names if n not in Market.__members__]
        if unknown or not names:
            raise ValueError(f"markets: unknown {unknown or value!r}; known: {', '.join(Market.__members__)}")
        return ",".join(names)

    @property
    def market_list(self) -> tuple[Market, ...] | None:
        """The markets named in ``markets`` (None when not set)."""
        if self.markets is None:
            return None
        names = [m.strip().upper() for m in self.markets.split(",") if m.strip()]
        return tuple(Market(n) for n in dict.fromkeys(names))

    @property
    def dagster_home(self) -> Path:
        """DAGSTER_HOME if set, else a folder inside the data root (history survives restarts)."""
        env = os.environ.get("DAGSTER_HOME")
        return Path(env) if env else self.data_path / "dagster_home"

    def shown(self) -> dict[str, Any]:
        """Effective settings for display, secrets masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value:
                value = MASK
            out[name] = value
        out["data_root"] = self.data_path
        out["ib_port"] = self.effective_ib_port
        out["runtime_db_url"] = mask_url(self.effective_runtime_db_url)
        out["celery_broker"] = mask_url(self.celery_broker)  # amqp://user:password@host carries a password
        return {k: (str(v) if v is not None else None) for k, v in out.items()}

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # repr() reaches logs and tracebacks: the same masking as shown().
        for name, value in super().__repr_args__():
            if name in SECRET_FIELDS and value:
                yield name, MASK
            elif isinstance(value, str):
                yield name, mask_secrets(value)
            else:
                yield name, value


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


def mask_url(url: str) -> str:
    """``url`` with every secret hidden: the password of its user info and secret query parameters.

    The user info is read as SQLAlchemy reads it (the password runs to the first ``@``); a query parameter is
    secret when its name (percent-decoded, any case) contains one of :data:`SECRET_QUERY_WORDS`
    (``?password=``, ``sslpassword``, ``token``, ``api_key``, ...). Works on free text as well, so a message
    that quotes a URL can be passed whole (see :func:`mask_secrets`).
    """
    return mask_secrets(url)


def mask_secrets(text: str) -> str:
    """``text`` (a URL, a log line or an error message) with every URL password and secret parameter hidden."""
    text = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@" if m["password"] else m[0], text)
    return _PARAMETER.sub(lambda m: f"{m['key']}={MASK}" if _is_secret_name(m["name"]) else m[0], text)


def _is_secret_name(name: str) -> bool:
    decoded = unquote_plus(name).lower()
    return any(word in decoded for word in SECRET_QUERY_WORDS)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: the process environment).

    Raises
    ------
    ConfigError
        An unknown ``PROMETHEUS_*`` variable, a bad value or a missing file (the first problem found by
        :func:`check_settings`); the message names the variable.
    """
    settings, problems = check_settings(environ)
    if settings is None:
        raise problems[0]
    return settings


def check_settings(environ: Mapping[str, str] | None = None) -> tuple[Settings | None, list[ConfigError]]:
    """The settings of ``environ`` (None when there is any problem) and every problem, not only the first.

    Problems are unknown ``PROMETHEUS_*`` variables, then bad values (each field's), then the first broken rule
    between fields (mode, ports, LIVE confirmation), which pydantic checks only once every field is valid. Each
    is a :class:`ConfigError` naming the variable.
    """
    env = dict(os.environ if environ is None else environ)
    known = {env_name(f) for f in Settings.model_fields}
    problems = [
        ConfigError(f"{key} is not a Prometheus setting; known settings: {', '.join(sorted(known))}", setting=key)
        for key in sorted(env)
        if key.upper().startswith(ENV_PREFIX) and key.upper() not in known
    ]
    values = {name: env[key] for name in Settings.model_fields for key in env if key.upper() == env_name(name)}
    try:
        # Values are passed explicitly so that the result depends on ``environ`` alone.
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        return None, problems + [_problem(error["loc"], error["msg"]) for error in exc.errors()]
    return (None if problems else settings), problems


def _problem(loc: tuple[int | str, ...], message: str) -> ConfigError:
    field = str(loc[0]) if loc else _field_from_message(message)
    msg = message.removeprefix("Value error, ").removeprefix(f"{field}: ")
    return ConfigError(f"{env_name(field)}: {msg}", setting=env_name(field))


def _field_from_message(msg: str) -> str:
    # Model validators prefix their message with the field name ("ib_port: ...").
    head = msg.removeprefix("Value error, ").split(":", 1)[0].strip()
    return head if head in Settings.model_fields else "mode"
