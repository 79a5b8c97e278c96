"""The operator dashboard: a Starlette app (served by uvicorn) over :mod:`prometheus.reporting.dashboard_data`.

Pages: the overview of every market, one page per market, the alerts and the kill switch (with a confirmed
halt). See ``docs/dashboard.md`` and ``docs/decisions/0007-dashboard-on-starlette.md``.
"""

from prometheus_dashboard.app import CONFIRM_WORD, DashboardConfig, create_app

__all__ = ["CONFIRM_WORD", "DashboardConfig", "create_app"]
