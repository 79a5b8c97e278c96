"""Output schema of the Synthetic Scenarios engine: ``scenario_sets`` (main) and ``scenario_results`` (extra)."""

from __future__ import annotations

import polars as pl

from prometheus.data.schema import Column, Table
from prometheus.engines.base import EngineSpec, OutputTable

#: ``scenario_sets.definition`` (JSON): the set's seed and history, summary statistics of its paths, and the
#: target portfolio's tail at the highest VaR level (null without a portfolio) so the set table alone can be plotted.
DEFINITION = pl.Struct(
    {
        "seed": pl.Int64(),
        "history_sessions": pl.Int64(),
        "market_mean": pl.Float64(),
        "market_vol": pl.Float64(),
        "market_worst": pl.Float64(),
        "portfolio_var": pl.Float64(),
        "portfolio_es": pl.Float64(),
        "var_level": pl.Float64(),
        "parameters": pl.String(),
    }
)

#: ``scenario_results.details`` (JSON): the VaR level of a VaR/ES row (null otherwise), the loss (positive) and the
#: number of paths the row summarises (1 for a named path).
DETAILS = pl.Struct({"level": pl.Float64(), "loss": pl.Float64(), "paths": pl.Int64()})

#: Per generated set and rebalance session: the target portfolio's stress P&L (fractions of capital).
SCENARIO_RESULTS = OutputTable(
    table="scenario_results",
    columns=(
        Column("scenario_set", pl.String(), "set name, as in scenario_sets"),
        Column(
            "scenario",
            pl.String(),
            "summary row (var_95, es_95, ..., worst, mean) or a named path (window:<name>, sector:<name>)",
        ),  # fmt: skip
        Column("pnl", pl.Float64(), "P&L over the horizon as a fraction of capital (a VaR/ES row: minus the loss)"),
        Column("details", DETAILS, "level, loss and paths of the row", nullable=True),
    ),
    key=("scenario_set", "scenario"),
    decision_columns=("pnl",),
)

#: Inputs, upstream engines, output tables: one scenario_sets row per generated set on each rebalance session.
SCENARIOS_SPEC = EngineSpec(
    name="scenarios",
    description="Synthetic scenarios on rebalance sessions (filtered historical simulation, block and regime "
    "bootstraps, replays, hypothetical shocks) and the target portfolio's stress P&L: VaR/ES per set, stress scale.",
    output_table="scenario_sets",
    columns=(
        Column("scenario_set", pl.String(), "set name (filtered_historical, regime_stressed, sector_shock, ...)"),
        Column("method", pl.String(), "ScenarioKind of the generator"),
        Column("n_scenarios", pl.Int64(), "paths in the set"),
        Column("horizon_sessions", pl.Int64(), "sessions per path"),
        Column("definition", DEFINITION, "seed, history, summary statistics, portfolio tail, generator parameters"),
        Column(
            "lake_path", pl.String(), "paths file relative to the lake root (null: not stored)", nullable=True
        ),  # fmt: skip
    ),
    inputs=(Table.INSTRUMENTS, Table.PRICES_ADJUSTED),
    key=("scenario_set",),
    upstream=("regime", "portfolio"),
    decision_columns=("scenario_set", "method", "n_scenarios", "horizon_sessions"),
    extra_outputs=(SCENARIO_RESULTS,),
)
