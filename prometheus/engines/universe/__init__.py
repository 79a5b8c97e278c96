"""Universe engine: point-in-time screens, dollar-volume rank with hysteresis, capacity, entries and exits."""

from prometheus.engines.universe.config import UniverseConfig
from prometheus.engines.universe.engine import UniverseEngine
from prometheus.engines.universe.membership import Row, Screened, screen, step
from prometheus.engines.universe.plot import turnover_by_session, universe_plot_png
from prometheus.engines.universe.schema import MEMBER_REASONS, UNIVERSE_SPEC, UNRANKED, UniverseReason, members

__all__ = [
    "MEMBER_REASONS",
    "UNIVERSE_SPEC",
    "UNRANKED",
    "Row",
    "Screened",
    "UniverseConfig",
    "UniverseEngine",
    "UniverseReason",
    "members",
    "screen",
    "step",
    "turnover_by_session",
    "universe_plot_png",
]
