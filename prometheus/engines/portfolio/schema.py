"""Output schema of the Portfolio & Risk engine: ``target_portfolios`` and, beside it, ``risk_reports``."""

from __future__ import annotations

import polars as pl

from prometheus.data.schema import Column, Table
from prometheus.engines.base import EngineSpec, OutputTable

#: The ``report`` column of ``risk_reports`` (a JSON object in SQL): the book's shape and how it was reached.
REPORT_DTYPE = pl.Struct(
    {
        "gross": pl.Float64(),  # sum |w|
        "net": pl.Float64(),  # sum w
        "beta": pl.Float64(),  # model-implied beta to the equal-weighted market of the window
        "n_names": pl.Int64(),  # names with a non-zero target
        "turnover": pl.Float64(),  # one-way: sum |w - w_previous| / 2
        "status": pl.String(),  # optimiser status: optimal / relaxed_turnover / hrp / inverse_vol / equal_weight
        "budget_scale": pl.Float64(),  # regime x stability multiplier on the gross and vol caps
        "factor_exposure_norm": pl.Float64(),  # ||B'w|| (daily-vol units of the statistical factors)
        "top_sectors": pl.String(),  # the three largest |net sector weights|, "sector:weight" comma separated
        "expected_return": pl.Float64(),  # alpha'w over the assessment horizon
        "cost": pl.Float64(),  # expected trading cost of the rebalance, fraction of equity
    }
)

#: Risk reports: one row per session, beside the target portfolio.
RISK_REPORTS = OutputTable(
    table="risk_reports",
    columns=(
        Column("ex_ante_vol", pl.Float64(), "annualised ex-ante vol of the target (factor risk model)", nullable=True),
        Column(
            "var_95",
            pl.Float64(),
            "one-session 95 % VaR, fraction of equity, parametric normal from the ex-ante vol (1.645 sigma_daily)",
            nullable=True,
        ),  # fmt: skip
        Column(
            "es_95",
            pl.Float64(),
            "one-session 95 % expected shortfall, parametric normal (2.063 sigma_daily); simulated ones: Scenarios",
            nullable=True,
        ),  # fmt: skip
        Column("report", REPORT_DTYPE, "gross, net, beta, names, turnover, status, budget scale, exposures"),
    ),
    decision_columns=("report",),
)

#: Inputs, output table and columns: one row per name with a non-zero target or a non-zero previous weight.
PORTFOLIO_SPEC = EngineSpec(
    name="portfolio",
    description="Target weights per session: factor-risk mean-variance on the assessments with trading costs, "
    "portfolio limits and a regime x stability risk budget (fallbacks HRP, inverse vol), with an ex-ante risk "
    "report per session.",
    output_table="target_portfolios",
    columns=(
        Column("instrument", pl.String(), "symbol"),
        Column("weight", pl.Float64(), "target weight, fraction of equity (0 on an exit)"),
        Column(
            "expected_return",
            pl.Float64(),
            "the assessment's expected return of the name (0 without a score)",
            nullable=True,
        ),  # fmt: skip
        Column(
            "risk_contribution",
            pl.Float64(),
            "w_i d vol / d w_i, annualised: sums to the ex-ante vol of the target",
            nullable=True,
        ),  # fmt: skip
    ),
    inputs=(Table.INSTRUMENTS, Table.PRICES_ADJUSTED),
    key=("instrument",),
    upstream=("regime", "stability", "fragility", "assessment", "universe"),
    decision_columns=("weight",),
    extra_outputs=(RISK_REPORTS,),
)
