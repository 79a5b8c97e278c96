"""The Portfolio & Risk engine: risk model, optimiser with its fallback chain, target portfolios and risk reports."""

from prometheus.engines.portfolio.config import PortfolioConfig, default_limits
from prometheus.engines.portfolio.engine import PortfolioEngine
from prometheus.engines.portfolio.limits import PortfolioLimits
from prometheus.engines.portfolio.optimiser import OptimisationResult, OptimiserConfig, optimise
from prometheus.engines.portfolio.plot import book_by_session, portfolio_plot_png
from prometheus.engines.portfolio.risk_model import FactorRiskModel, RiskModelConfig, estimate_risk_model
from prometheus.engines.portfolio.schema import PORTFOLIO_SPEC, RISK_REPORTS

__all__ = [
    "PORTFOLIO_SPEC",
    "RISK_REPORTS",
    "FactorRiskModel",
    "OptimisationResult",
    "OptimiserConfig",
    "PortfolioConfig",
    "PortfolioEngine",
    "PortfolioLimits",
    "RiskModelConfig",
    "book_by_session",
    "default_limits",
    "estimate_risk_model",
    "optimise",
    "portfolio_plot_png",
]
