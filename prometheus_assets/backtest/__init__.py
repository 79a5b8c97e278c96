"""Backtest assets: the simulated execution of the target portfolios, per market."""

from prometheus_assets.backtest.assets import BACKTEST_ASSET, build_backtest_assets

__all__ = ["BACKTEST_ASSET", "build_backtest_assets"]
