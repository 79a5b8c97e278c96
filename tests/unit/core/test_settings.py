"""Settings: defaults, per-mode IB ports, and errors that name the offending variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.settings import check_settings, load_settings, mask_secrets, mask_url
from prometheus.core.types import Mode


def test_load_when_environment_empty_gives_backtest_defaults() -> None:
    s = load_settings({})
    assert s.mode is Mode.BACKTEST
    assert s.data_path == Path("./data").resolve()
    assert s.effective_runtime_db_url == f"sqlite:///{Path('./data').resolve() / 'runtime.sqlite'}"
    assert s.effective_ib_port == 4002


def test_load_when_unknown_prometheus_variable_names_it() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_MDOE") as info:
        load_settings({"PROMETHEUS_MDOE": "LIVE"})
    assert info.value.setting == "PROMETHEUS_MDOE"


def test_load_when_other_variables_present_ignores_them() -> None:
    assert load_settings({"HOME": "/root", "DAGSTER_HOME": "/tmp/x"}).mode is Mode.BACKTEST


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"PROMETHEUS_MODE": "SIMULATION"}, "PROMETHEUS_MODE"),
        ({"PROMETHEUS_IB_PORT": "not-a-port"}, "PROMETHEUS_IB_PORT"),
        ({"PROMETHEUS_IB_PORT": "70000"}, "PROMETHEUS_IB_PORT"),
        ({"PROMETHEUS_BAR_DELAY_SECONDS": "-1"}, "PROMETHEUS_BAR_DELAY_SECONDS"),
        ({"PROMETHEUS_RISK_LIMITS_FILE": "/nonexistent/limits.yaml"}, "PROMETHEUS_RISK_LIMITS_FILE"),
        ({"PROMETHEUS_IB_FOREIGN_ORDERS": "ignore"}, "PROMETHEUS_IB_FOREIGN_ORDERS"),
        ({"PROMETHEUS_ALERT_WEBHOOK": "ftp://hooks.example/x"}, "PROMETHEUS_ALERT_WEBHOOK"),
    ],
)
def test_load_when_value_bad_error_names_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError, match=setting) as info:
        load_settings(env)
    assert info.value.setting == setting


def test_paper_when_port_unset_uses_gateway_paper_port() -> None:
    assert load_settings({"PROMETHEUS_MODE": "PAPER"}).effective_ib_port == 4002


@pytest.mark.parametrize("port", ["4001", "7496"])
def test_paper_when_live_port_refuses(port: str) -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_IB_PORT"):
        load_settings({"PROMETHEUS_MODE": "PAPER", "PROMETHEUS_IB_PORT": port})


def test_paper_when_tws_paper_port_accepts() -> None:
    assert load_settings({"PROMETHEUS_MODE": "PAPER", "PROMETHEUS_IB_PORT": "7497"}).effective_ib_port == 7497


def test_live_when_confirmation_missing_refuses() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_LIVE_CONFIRM"):
        load_settings({"PROMETHEUS_MODE": "LIVE", "PROMETHEUS_IB_ACCOUNT": "U123"})


def test_live_when_confirmation_differs_refuses() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_LIVE_CONFIRM"):
        load_settings({"PROMETHEUS_MODE": "LIVE", "PROMETHEUS_IB_ACCOUNT": "U123", "PROMETHEUS_LIVE_CONFIRM": "U999"})


def test_live_when_account_missing_refuses() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_IB_ACCOUNT"):
        load_settings({"PROMETHEUS_MODE": "LIVE"})


def test_live_when_confirmed_starts_on_gateway_live_port() -> None:
    s = load_settings({"PROMETHEUS_MODE": "LIVE", "PROMETHEUS_IB_ACCOUNT": "U123", "PROMETHEUS_LIVE_CONFIRM": "U123"})
    assert s.mode is Mode.LIVE
    assert s.effective_ib_port == 4001


def test_runtime_url_when_postgres_accepted_and_password_masked() -> None:
    s = load_settings({"PROMETHEUS_RUNTIME_DB_URL": "postgresql+psycopg://u:secret@127.0.0.1:5432/prom"})
    assert s.effective_runtime_db_url.startswith("postgresql+psycopg://")
    assert "secret" not in s.shown()["runtime_db_url"]


def test_shown_when_account_set_masks_it() -> None:
    s = load_settings({"PROMETHEUS_IB_ACCOUNT": "U123"})
    assert s.shown()["ib_account"] == "****"


def test_shown_when_webhook_set_masks_it() -> None:
    # Slack-style webhook URLs carry their token in the path.
    s = load_settings({"PROMETHEUS_ALERT_WEBHOOK": "https://hooks.example/services/T0/B0/token123"})
    assert "token123" not in str(s.shown()["alert_webhook"])


def test_shown_when_celery_broker_has_a_password_masks_it() -> None:
    s = load_settings({"PROMETHEUS_CELERY_BROKER": "pyamqp://prom:hunter2@mq.internal:5672//"})
    assert "hunter2" not in str(s.shown()["celery_broker"])


def test_foreign_orders_when_set_reaches_the_ib_config() -> None:
    from prometheus.execution.brokers.ib import IbConfig

    s = load_settings({"PROMETHEUS_MODE": "PAPER", "PROMETHEUS_IB_FOREIGN_ORDERS": "cancel"})
    assert IbConfig.from_settings(s).foreign_orders == "cancel"


def test_risk_limits_file_when_present_accepted(tmp_path: Path) -> None:
    f = tmp_path / "limits.yaml"
    f.write_text("max_order_notional: 1000\n")
    assert load_settings({"PROMETHEUS_RISK_LIMITS_FILE": str(f)}).risk_limits_file == f


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://u:secret@127.0.0.1:5432/prom", "postgresql+psycopg://u:****@127.0.0.1:5432/prom"),
        ("postgresql://u@h/db?password=secret&sslmode=require", "postgresql://u@h/db?password=****&sslmode=require"),
        (
            "postgresql://u@h/db?sslmode=require&sslpassword=secret",
            "postgresql://u@h/db?sslmode=require&sslpassword=****",
        ),
        ("postgresql://u:secret@h/db?PassWord=secret", "postgresql://u:****@h/db?PassWord=****"),
        ("postgresql://u@h/db?pass%77ord=secret", "postgresql://u@h/db?pass%77ord=****"),
        ("postgresql://u@h/db?token=secret;application_name=x", "postgresql://u@h/db?token=****;application_name=x"),
        # SQLAlchemy reads the password up to the first "@", "/" and "?" included.
        ("postgresql://u:se/cr?et@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:****@h/db"),
        ("sqlite:////data/runtime.sqlite", "sqlite:////data/runtime.sqlite"),
        ("postgresql://u@h:5432/db?sslmode=require", "postgresql://u@h:5432/db?sslmode=require"),
    ],
)
def test_mask_url_when_secret_in_user_info_or_query_hides_it(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_secrets_when_message_quotes_url_and_keyword_string_hides_both() -> None:
    message = "cannot connect to postgresql://u:secret@h/db (dsn: host=h password=secret user=u)"

    assert mask_secrets(message) == "cannot connect to postgresql://u:****@h/db (dsn: host=h password=**** user=u)"


def test_repr_when_settings_hold_secrets_masks_them() -> None:
    s = load_settings(
        {
            "PROMETHEUS_RUNTIME_DB_URL": "postgresql://u:secret1@h/db?password=secret2",
            "PROMETHEUS_MODE": "LIVE",
            "PROMETHEUS_IB_ACCOUNT": "U1234567",
            "PROMETHEUS_LIVE_CONFIRM": "U1234567",
        }
    )

    text = repr(s)

    assert "secret1" not in text
    assert "secret2" not in text
    assert "U1234567" not in text
    assert "runtime_db_url='postgresql://u:****@h/db?password=****'" in text


def test_check_settings_when_several_variables_bad_lists_each() -> None:
    settings, problems = check_settings({"PROMETHEUS_X": "1", "PROMETHEUS_IB_PORT": "0", "PROMETHEUS_MODE": "NOPE"})

    assert settings is None
    assert [p.setting for p in problems] == ["PROMETHEUS_X", "PROMETHEUS_MODE", "PROMETHEUS_IB_PORT"]


def test_check_settings_when_valid_returns_settings_and_no_problem() -> None:
    settings, problems = check_settings({"PROMETHEUS_MAX_DATA_LAG_SESSIONS": "3"})

    assert problems == []
    assert settings is not None
    assert settings.max_data_lag_sessions == 3
