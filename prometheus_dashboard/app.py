"""The dashboard's Starlette app: four pages rendered from :mod:`prometheus.reporting.dashboard_data`.

GET pages are plain functions, which Starlette runs in its thread pool, since the store and the calendar block.
The one write is ``POST /kill-switch/halt``: it needs the confirmation word typed into the form and a request
from the dashboard's own origin, and it halts through the kill switch's API (a new ``risk_state`` row). Resuming
is deliberately not offered here: it stays a command-line act (``prometheus kill-switch resume``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import ConfigError
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.execution.kill_switch import GLOBAL_SCOPE
from prometheus.reporting import dashboard_data as dd
from prometheus.runtime.store import RuntimeStore
from prometheus_dashboard.charts import equity_svg, regime_probabilities_svg

#: What the operator types to confirm a halt (a checkbox is too easy to tick by accident).
CONFIRM_WORD = "HALT"
_TEMPLATES = Path(__file__).with_name("templates")
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """What the dashboard shows by default and who it says halted.

    Attributes
    ----------
    experiment : the experiment shown when a page names none (``live``: the PAPER/LIVE account).
    scope : the kill-switch scope shown and halted (``global``: every process of the platform).
    operator : ``set_by`` of a halt from the dashboard.
    """

    experiment: str = dd.LIVE_EXPERIMENT
    scope: str = GLOBAL_SCOPE
    operator: str = "dashboard"


def create_app(
    store: RuntimeStore,
    calendar: TradingCalendar,
    config: DashboardConfig | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Starlette:
    """The dashboard over ``store`` (migrated) with market states from ``calendar`` at ``clock()``."""
    return _Dashboard(store, calendar, config or DashboardConfig(), clock).app


class _Dashboard:
    """Routes and their shared state; one instance per app."""

    def __init__(
        self, store: RuntimeStore, calendar: TradingCalendar, config: DashboardConfig, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.calendar, self.config, self.clock = store, calendar, config, clock
        self.env = _environment()
        self.app = Starlette(
            routes=[
                Route("/", self.index, name="index"),
                Route("/market/{market}", self.market, name="market"),
                Route("/alerts", self.alerts, name="alerts"),
                Route("/kill-switch", self.kill_switch, name="kill_switch"),
                Route("/kill-switch/halt", self.halt, methods=["POST"], name="halt"),
            ]
        )

    # -- pages ---------------------------------------------------------------------------------------------------

    def index(self, request: Request) -> Response:
        experiment = self._experiment(request)
        if experiment is None:
            return self._not_found(request, "unknown experiment")
        rows = dd.overview(self.store, self.calendar, experiment, self.clock())
        return self._page(request, "index.html", experiment, rows=rows)

    def market(self, request: Request) -> Response:
        experiment = self._experiment(request)
        try:
            market = Market(request.path_params["market"].upper())
        except ValueError:
            market = None
        if experiment is None or market is None:
            return self._not_found(request, "unknown market or experiment")
        page = dd.market_page(self.store, self.calendar, market, experiment, self.clock(), self.config.scope)
        return self._page(
            request,
            "market.html",
            experiment,
            page=page,
            regime_svg=regime_probabilities_svg(page.regime.history),
            equity_svg=equity_svg(page.pnl.history),
        )

    def alerts(self, request: Request) -> Response:
        experiment = self._experiment(request)
        if experiment is None:
            return self._not_found(request, "unknown experiment")
        return self._page(request, "alerts.html", experiment, alerts=dd.recent_alerts(self.store, limit=200))

    def kill_switch(self, request: Request, error: str = "", reason: str = "", status_code: int = 200) -> Response:
        experiment = self._experiment(request) or self.config.experiment
        return self._page(request, "kill_switch.html", experiment, error=error, reason=reason,
                          confirm_word=CONFIRM_WORD, status_code=status_code)  # fmt: skip

    async def halt(self, request: Request) -> Response:
        """Halt after the confirmation word; a refused request changes nothing."""
        if not _same_origin(request):
            return PlainTextResponse("refused: the halt form must be sent from the dashboard itself", 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != _FORM:
            return PlainTextResponse(f"refused: send the form as {_FORM}", 415)
        # A url-encoded form is parsed here: Starlette's form parser needs python-multipart, not installed.
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
        confirm = form.get("confirm", [""])[0].strip()
        reason = form.get("reason", [""])[0].strip()
        if confirm != CONFIRM_WORD:
            message = f"Not halted: type {CONFIRM_WORD} in the confirmation field to halt trading."
            # The reason typed is kept in the form; the confirmation is not, it must be typed again.
            return await run_in_threadpool(self.kill_switch, request, message, reason, 400)
        reason = reason or "halted from the dashboard"
        await run_in_threadpool(dd.halt, self.store, reason, self.config.operator, self.config.scope, self.clock)
        return RedirectResponse(f"/kill-switch?{urlencode({'halted': '1'})}", status_code=303)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _experiment(self, request: Request) -> str | None:
        wanted = request.query_params.get("experiment", self.config.experiment)
        known = {e.experiment for e in dd.list_experiments(self.store)}
        return wanted if wanted in known else None

    def _page(
        self, request: Request, template: str, experiment: str, *, status_code: int = 200, **context: Any
    ) -> Response:
        common = {
            "experiment": experiment,
            "experiments": dd.list_experiments(self.store),
            "markets": dd.markets_of(self.store, experiment) or list(Market),
            "switch": dd.kill_switch_view(self.store, self.config.scope),
            "now": self.clock(),
            "path": request.url.path,
            "q": "?" + urlencode({"experiment": experiment}),
            "halted": request.query_params.get("halted") == "1",
        }
        html = self.env.get_template(template).render(common | context)
        return HTMLResponse(html, status_code=status_code)

    def _not_found(self, request: Request, message: str) -> Response:
        return PlainTextResponse(f"not found: {message} ({request.url.path}?{request.url.query})", 404)


def _same_origin(request: Request) -> bool:
    # Browsers send Origin on a cross-site POST: a page elsewhere must not be able to submit the halt form.
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the page (and its test), never renders blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters |= {"pct": _pct, "num": _num, "money": _money, "ts": _ts, "day": _day}
    return env


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if _missing(value) else f"{value * 100:.{digits}f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if _missing(value) else f"{value:,.{digits}f}"


def _money(value: float | None) -> str:
    return "–" if _missing(value) else f"{value:+,.2f}"


def _ts(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: date | None) -> str:
    return "–" if value is None else value.isoformat()


def check_templates() -> None:
    """Fail early, with the folder named, when the templates did not ship with the package.

    Raises
    ------
    ConfigError
        The templates folder is missing.
    """
    if not (_TEMPLATES / "base.html").is_file():
        raise ConfigError(f"dashboard templates missing under {_TEMPLATES}; reinstall the package", setting="dashboard")
