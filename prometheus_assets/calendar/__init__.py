"""Calendar assets: the trading sessions of every market."""

from prometheus_assets.calendar.assets import build_trading_sessions_asset

__all__ = ["build_trading_sessions_asset"]
