"""The Assessment engine: LightGBM forecast scores of every listed instrument, walk-forward and point in time."""

from prometheus.engines.assessment.config import AssessmentConfig, FeatureFamily, LightGBMParams, Objective
from prometheus.engines.assessment.engine import AssessmentEngine
from prometheus.engines.assessment.labels import LABEL_SCHEMA, forward_returns, rank_labels, realised_outcomes
from prometheus.engines.assessment.model import AssessmentModel, load_models, model_path, save_model
from prometheus.engines.assessment.plot import assessment_plot_png
from prometheus.engines.assessment.report import IcReport, ic_report, rank_ic
from prometheus.engines.assessment.schema import ASSESSMENT_SPEC, DETAILS_DTYPE

__all__ = [
    "ASSESSMENT_SPEC",
    "DETAILS_DTYPE",
    "LABEL_SCHEMA",
    "AssessmentConfig",
    "AssessmentEngine",
    "AssessmentModel",
    "FeatureFamily",
    "LightGBMParams",
    "Objective",
    "assessment_plot_png",
    "IcReport",
    "forward_returns",
    "ic_report",
    "rank_ic",
    "realised_outcomes",
    "load_models",
    "model_path",
    "rank_labels",
    "save_model",
]
