"""Backtests: the engines' target portfolios through the order planner, the risk gate and the BacktestBroker, one
session after another, into daily results per experiment (layer above execution; nothing below imports it)."""

from prometheus.backtest.schema import BACKTEST_DAILY_SCHEMA, COST_COLUMNS, empty_daily

__all__ = ["BACKTEST_DAILY_SCHEMA", "COST_COLUMNS", "empty_daily"]
