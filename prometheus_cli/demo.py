"""``prometheus demo``: the main job on the embedded default data."""

from __future__ import annotations

from datetime import timedelta

import typer

from prometheus.backtest.experiment import DEMO_BACKTEST_YEARS, DEMO_MIN_WARMUP_YEARS, demo_experiment, demo_period
from prometheus.calendar import TradingCalendar
from prometheus.core.errors import ConfigError
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.synthetic import SyntheticConfig
from prometheus.runtime.store import RuntimeStore
from prometheus_assets.definitions import configured_markets
from prometheus_cli import flows
from prometheus_cli._common import run, settings
from prometheus_cli.backtest import print_outcome

HELP = (
    "Run the embedded default end to end as Dagster runs in the local instance (DAGSTER_HOME, by default "
    "<data root>/dagster_home): create the data root, upgrade the runtime store, write the trading sessions, "
    "ingest the default synthetic market and the reference data, train the encoders and write embeddings and "
    "profiles, embed the last months of news, then backtest the seven engines through the market simulator as the "
    "experiment 'demo' (the market's last three years, at least two years after its start), write the tear "
    "sheet and print the headline metrics and its path. Afterwards `make ui` shows every asset the demo built."
)


def demo(
    names: int = typer.Option(500, "--names", help="Names in the synthetic market."),
    years: int = typer.Option(10, "--years", help="Years of sessions in the synthetic market."),
    seed: int = typer.Option(42, "--seed", help="Seed of the synthetic market."),
    news_months: int = typer.Option(
        12, "--news-months", min=0, help="Months of headlines embedded by the news encoder (the last ones)."
    ),
    backtest_years: int = typer.Option(
        DEMO_BACKTEST_YEARS, "--backtest-years", min=1, help="Years backtested: the market's last ones."
    ),
    warmup_years: int = typer.Option(
        DEMO_MIN_WARMUP_YEARS,
        "--warmup-years",
        min=1,
        help="Least history before the backtest starts (the models' training data); shortens the backtest of a "
        "short market.",
    ),
    experiment: str = typer.Option("demo", "--experiment", help="Experiment name of the demo's backtest."),
) -> None:
    """Run the demo on the embedded default data root."""
    s = settings()

    def go() -> None:
        s.data_path.mkdir(parents=True, exist_ok=True)
        typer.echo(f"data root: {s.data_path}")
        with RuntimeStore(s.effective_runtime_db_url) as runtime:
            revision = runtime.upgrade()
            typer.echo(f"runtime store: {runtime.masked_url} at revision {revision}")
        synthetic = SyntheticConfig.from_mapping(
            {"n_names": names, "years": years, "seed": seed}, source="command-line options"
        )
        markets = configured_markets(s).markets
        launcher = flows.demo_flows(s, synthetic, typer.echo, markets, news_months)
        try:
            first, last = demo_period(synthetic.start, synthetic.end, backtest_years, warmup_years)
        except ConfigError as exc:
            raise ConfigError(f"--warmup-years {warmup_years} leaves no session to backtest",
                              setting="--warmup-years") from exc  # fmt: skip
        typer.echo(f"backtest {experiment!r}: {first}..{last} (demo defaults: quarterly assessment refits, "
                   "weekly rebalancing, scenarios on rebalance sessions)")  # fmt: skip
        out = flows.backtest(s, Market.US_EQ, first, last, experiment, demo_experiment(), typer.echo,
                             "make demo: the embedded default end to end")  # fmt: skip
        print_outcome(out)
        typer.echo(f"Dagster instance: {launcher.instance.root_directory} (make ui shows these runs)")
        cal = TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes))
        now = utc_now()
        typer.echo(f"market states at {now.isoformat(timespec='seconds')}:")
        for market in markets:
            state, nxt = cal.state(market, now), cal.next_transition(market, now)
            typer.echo(
                f"  {market.value:<8} {state.value:<10} next {nxt.state.value:<10} at "
                f"{nxt.at.astimezone(cal.tz(market)).isoformat(timespec='minutes')}"
            )

    run(go)
