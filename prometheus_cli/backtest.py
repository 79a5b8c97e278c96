"""``prometheus backtest``: the whole chain over a date range as an experiment, its tear sheet; list and compare."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from prometheus.backtest.experiment import ExperimentConfig, list_experiments
from prometheus.calendar import parse_market
from prometheus.core.errors import ConfigError
from prometheus.core.time import to_date
from prometheus.runtime.store import RuntimeStore
from prometheus_cli import flows
from prometheus_cli._common import date_option, run, settings

HELP = (
    "Backtest a market over a date range as an experiment: the seven engines, order planning, the RiskGate and the "
    "market simulator as Dagster runs in the local instance, then a tear sheet (HTML) and the headline metrics; "
    "--list shows recorded experiments, --compare A B writes a comparison report."
)

#: Headline metrics printed at the end, in this order (name in the metrics mapping, label).
HEADLINE = (
    ("annual_return", "annual return"), ("annual_volatility", "annual vol"), ("sharpe", "Sharpe"),
    ("sortino", "Sortino"), ("max_drawdown", "max drawdown"), ("calmar", "Calmar"), ("hit_rate", "hit rate"),
    ("annual_turnover", "turnover / year"), ("cost_drag", "cost drag"), ("mean_ic", "mean IC"),
)  # fmt: skip


def backtest(
    market: str = typer.Option("US_EQ", "--market", help="Market id, e.g. US_EQ."),
    start: date = typer.Option(None, "--start", parser=date_option, metavar="YYYY-MM-DD", help="First session."),
    end: date = typer.Option(None, "--end", parser=date_option, metavar="YYYY-MM-DD", help="Last session."),
    experiment: str = typer.Option(None, "--experiment", help="Experiment name (a column of every row it writes)."),
    config: Path = typer.Option(
        None,
        "--config",
        help="YAML with optional sections regime:, stability:, fragility:, assessment:, universe:, portfolio:, "
        "scenarios: and backtest: (planner, simulator and costs, risk limits, initial capital).",
    ),
    description: str = typer.Option("", "--description", help="Free text recorded with the experiment."),
    list_: bool = typer.Option(False, "--list", help="List the recorded experiments and exit."),
    compare: tuple[str, str] | None = typer.Option(
        None, "--compare", metavar="A B", help="Write the comparison report of two recorded experiments."
    ),
) -> None:
    """Run a backtest experiment, or list / compare recorded ones."""
    s = settings()

    def go() -> None:
        m = parse_market(market)
        if list_:
            _list(s)
            return
        if compare:
            path = flows.compare_experiments(s, compare[0], compare[1], m)
            typer.echo(f"comparison report: {path}")
            return
        missing = [name for name, v in (("--start", start), ("--end", end), ("--experiment", experiment)) if v is None]
        if missing:
            raise ConfigError(f"a backtest needs {', '.join(missing)}", setting=missing[0])
        cfg = ExperimentConfig.from_yaml(config) if config else ExperimentConfig()
        out = flows.backtest(s, m, to_date(start), to_date(end), experiment, cfg, typer.echo, description)
        print_outcome(out)

    run(go)


def print_outcome(out: flows.BacktestOutcome) -> None:
    """The end of a backtest: range and time, reused engines, the headline metrics beside the benchmark and 1/N,
    and the report's path."""
    typer.echo(f"{out.experiment}: {out.market.value} {out.sessions[0]}..{out.sessions[-1]} ({len(out.sessions)} "
               f"sessions) in {out.seconds:.0f}s")  # fmt: skip
    reused = [name for name, r in out.reused.items() if r]
    computed = [name for name, r in out.reused.items() if not r]
    typer.echo(f"  engines reused: {', '.join(reused) or 'none'}; computed: {', '.join(computed) or 'none'}")
    if out.models_reused:
        typer.echo("  models reused: " + ", ".join(f"{name} {k}/{n}" for name, (k, n) in out.models_reused.items()))
    typer.echo(f"  {'':<16}{'strategy':>12}{'benchmark':>12}{'1/N':>12}")
    for key, label in HEADLINE:
        cells = [out.metrics.get(f"{series}.{key}") for series in ("strategy", "benchmark", "baseline")]
        if all(c is None for c in cells):
            continue
        typer.echo(f"  {label:<16}" + "".join(f"{c:>12.3f}" if c is not None else f"{'-':>12}" for c in cells))
    typer.echo(f"report: {out.report}")


def _list(s) -> None:  # noqa: ANN001 - Settings
    records = list_experiments(RuntimeStore(s.effective_runtime_db_url))
    if not records:
        typer.echo("no experiments recorded")
        return
    typer.echo("experiment,status,markets,first_session,last_session,started_at,sharpe,annual_return")
    for r in records:
        metrics = r.metrics or {}
        sharpe, ret = metrics.get("strategy.sharpe"), metrics.get("strategy.annual_return")
        typer.echo(
            f"{r.experiment},{r.status.value},{'+'.join(r.markets)},{r.first_session},{r.last_session},"
            f"{r.started_at.isoformat(timespec='seconds')},{'' if sharpe is None else f'{sharpe:.3f}'},"
            f"{'' if ret is None else f'{ret:.4f}'}"
        )
