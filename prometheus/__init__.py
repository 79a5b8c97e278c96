"""Prometheus v2 domain library.

Plain Python: this package never imports Dagster. Orchestration lives in ``prometheus_assets`` and
``prometheus_resources``.
"""

__version__ = "0.1.0"
