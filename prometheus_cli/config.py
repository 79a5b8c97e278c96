"""``prometheus config``: the effective settings, and a check of them and of every file they name."""

from __future__ import annotations

import typer

from prometheus.core.errors import ConfigError
from prometheus.core.log_masking import mask_text
from prometheus.core.settings import check_settings, env_name
from prometheus_cli._common import known_secrets, settings

app = typer.Typer(
    help="Effective settings (from PROMETHEUS_* variables): show them, or check them and every file they name.",
    no_args_is_help=True,
)

#: Exit code of ``config check`` when it finds a problem.
PROBLEMS_EXIT_CODE = 1


@app.command("show")
def show() -> None:
    """Print every setting with its variable name and effective value; secrets are masked."""
    for name, value in settings().shown().items():
        typer.echo(f"{env_name(name)}={'' if value is None else value}")


@app.command("check", short_help="Validate the settings and every file they name; exit 1 listing each problem.")
def check() -> None:
    """Validate the settings and every file they name, and list every problem.

    Checks each PROMETHEUS_* variable (unknown names, bad values, rules
    between them such as PAPER refusing a live port), then parses and
    validates the risk-limits file (PROMETHEUS_RISK_LIMITS_FILE) as the
    RiskGate loads it: unknown, missing or duplicate keys, infinite or NaN
    limits, and a breach_state that would leave trading on. PAPER and LIVE
    need a risk-limits file. Prints "ok" and exits 0 when all is valid;
    otherwise prints one "error:" line per problem on stderr and exits 1.
    """
    found, problems = check_settings()
    report = ["settings"]
    if found is not None:
        # Imported here: the execution package is heavy and `config show` must not pay for it.
        from prometheus.execution.risk_limits import risk_limits_problems

        problems += risk_limits_problems(found)
        limits = found.risk_limits_file
        report.append(f"risk limits {limits}" if limits is not None else "no risk-limits file configured")
    _report(problems, report)


def _report(problems: list[ConfigError], checked: list[str]) -> None:
    for problem in problems:
        typer.echo(f"error: {mask_text(str(problem), known_secrets())}", err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(code=PROBLEMS_EXIT_CODE)
    typer.echo(f"ok: {'; '.join(checked)}")
