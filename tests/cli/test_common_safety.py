"""Safety: secrets and account ids masked in logs, errors and ``config show``; servers and the IB client on loopback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import prometheus_cli.ui as ui_module
from prometheus.core.errors import DataError
from prometheus.core.log_masking import SecretMaskFilter, mask_text, remove_log_masking
from prometheus.core.settings import load_settings
from prometheus.execution.brokers.ib.config import IbConfig
from prometheus_cli import app as root_app
from prometheus_cli._common import cli_errors, is_loopback, settings
from prometheus_cli.config import app as config_app
from prometheus_cli.ingest import ib_connection

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, CONFIRM, PASSWORD = "U2345678", "confirm-phrase-42", "s3cr3t-pw"


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings with an account, a confirmation and a database password loaded as the CLI loads them."""
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("PROMETHEUS_IB_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("PROMETHEUS_LIVE_CONFIRM", CONFIRM)
    monkeypatch.setenv("PROMETHEUS_RUNTIME_DB_URL", f"postgresql+psycopg://bob:{PASSWORD}@db.internal/prom")
    settings()
    yield
    remove_log_masking()


def _leaks(text: str) -> list[str]:
    return [s for s in (ACCOUNT, CONFIRM, PASSWORD) if s in text]


def test_log_record_when_prometheus_logger_names_secrets_is_masked(
    masked: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("prometheus.execution.some_module")
    with caplog.at_level(logging.INFO):
        log.info("account %s confirmed with %s via %s", ACCOUNT, CONFIRM,
                 f"postgresql://bob:{PASSWORD}@db.internal/prom")  # fmt: skip
        logging.getLogger("prometheus_cli.ingest").warning("paper account DU7654321 in use")
    assert _leaks(caplog.text) == []
    assert "DU7654321" not in caplog.text
    assert "account ****678 confirmed with **** via postgresql://bob:****@db.internal/prom" in caplog.text
    assert "paper account ****321 in use" in caplog.text


def test_log_record_when_exception_carries_account_is_masked(masked: None, caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError(f"refused account {ACCOUNT}")
    except RuntimeError:
        logging.getLogger("prometheus_assets.execution").exception("order failed")
    assert caplog.records[-1].exc_text is not None
    assert "refused account ****678" in caplog.text
    assert _leaks(caplog.text) == []


def test_log_record_when_logger_is_not_ours_is_left_alone(masked: None, caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("someone.else").warning("order id U1234567 seen")
    assert "order id U1234567 seen" in caplog.text
    # Dagster builds some records by hand, without a logger name: they pass through untouched.
    record = logging.getLogRecordFactory()(None, logging.INFO, __file__, 1, "U1234567", (), None)
    assert record.getMessage() == "U1234567"


def test_mask_filter_when_attached_to_a_handler_masks_configured_secret() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s for %s", ("tok-abcdef", "DF99999"), None)
    assert SecretMaskFilter(["tok-abcdef", "ab"]).filter(record)
    assert record.getMessage() == "token **** for ****999"
    assert mask_text("ab and 12 stay", ["ab", "12"]) == "ab and 12 stay"  # too short to be worth masking


def test_cli_error_when_message_names_account_is_masked(masked: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit), cli_errors():
        raise DataError(f"account {ACCOUNT} refused; confirm was {CONFIRM}")
    err = capsys.readouterr().err
    assert "account ****678 refused; confirm was ****" in err
    assert _leaks(err) == []


def test_config_show_when_secrets_set_masks_each(masked: None) -> None:
    result = CliRunner().invoke(config_app, ["show"])
    assert result.exit_code == 0, result.output
    assert _leaks(result.output) == []
    assert "PROMETHEUS_IB_ACCOUNT=****\n" in result.output
    assert "PROMETHEUS_LIVE_CONFIRM=****\n" in result.output
    assert "bob:****@db.internal" in result.output


@pytest.fixture
def execv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[list[str]]]:
    """``prometheus ui`` up to the exec of dagster dev, which is recorded instead of run."""
    calls: list[list[str]] = []
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # the command sets it: restored after the test
    monkeypatch.setattr(ui_module.os, "execv", lambda path, args: calls.append(list(args)))
    yield calls
    remove_log_masking()  # the command loaded the settings


def test_ui_when_no_host_given_binds_loopback_without_warning(execv: list[list[str]]) -> None:
    result = CliRunner().invoke(root_app, ["ui"])
    assert result.exit_code == 0, result.output
    args = execv[0]
    assert args[args.index("-h") + 1] == "127.0.0.1"
    assert "warning" not in result.output


def test_ui_when_host_is_not_loopback_warns_and_obeys(execv: list[list[str]]) -> None:
    result = CliRunner().invoke(root_app, ["ui", "--host", "0.0.0.0"])  # noqa: S104 - the case under test
    assert result.exit_code == 0, result.output
    assert "warning: the Dagster UI listens on 0.0.0.0, not loopback" in result.output
    assert execv[0][execv[0].index("-h") + 1] == "0.0.0.0"  # noqa: S104


def test_make_ui_when_run_uses_the_default_host() -> None:
    recipe = re.search(r"^ui:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None
    assert "prometheus ui" in recipe.group(1)
    assert "--host" not in recipe.group(1)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.5.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("10.0.0.5", False), ("::", False), ("gateway.lan", False)],  # noqa: S104
)  # fmt: skip
def test_is_loopback_when_given_host_tells_local_from_reachable(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_gateway_client_when_no_host_configured_connects_to_loopback() -> None:
    assert load_settings({}).ib_host == "127.0.0.1"
    assert IbConfig().host == "127.0.0.1"
    assert ib_connection(load_settings({}), None).host == "127.0.0.1"
