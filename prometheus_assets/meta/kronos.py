"""``<market>/kronos_report``: Kronos' report on the run's experiment (slices by regime, findings), saved in
``kronos_reports`` with its proposals, shown as metadata. Its check fails (as a warning) when Kronos finds a
degraded config or a drifting volatility forecast, so the UI shows it.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

import dagster as dg
import polars as pl

from prometheus.engines.pipeline import EngineChainConfig
from prometheus.meta.kronos import KronosConfig, build_report, propose, save_proposal, save_report
from prometheus.meta.kronos.plot import slices_png
from prometheus_assets.engines._common import experiment_of
from prometheus_assets.meta.outcomes import OUTCOMES_ASSET
from prometheus_assets.metadata import png_markdown, table_preview
from prometheus_assets.partitions import MarketScope
from prometheus_resources.stores import RuntimeStoreResource

#: Asset name of the Kronos report.
KRONOS_ASSET = "kronos_report"
#: Findings that mean a config degraded (the check fails on them).
DEGRADED = ("degraded", "vol_drift")


def build_kronos_assets(
    scope: MarketScope, chain: EngineChainConfig | None = None, config: KronosConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The Kronos report asset of ``scope.market`` with its check."""
    market, key, cfg, engines = (
        scope.market,
        scope.key(KRONOS_ASSET),
        config or KronosConfig(),
        chain or EngineChainConfig(),
    )
    check = dg.AssetCheckSpec("no_degraded_config", asset=key, description="Kronos finds no degraded config")

    @dg.asset(
        key=key,
        deps=[scope.key(OUTCOMES_ASSET)],
        check_specs=[check],
        group_name=scope.prefix,
        tags=scope.tags("meta"),
        kinds={"python", "sql"},
        owners=["team:research"],
        code_version=cfg.config_version,
        description=f"Kronos on {market.value}: the run's experiment's decision outcomes sliced by engine, config, "
        "regime and horizon, degraded-config findings and config proposals (approved by a person).",
    )
    def kronos_asset(context: dg.AssetExecutionContext, runtime: RuntimeStoreResource) -> dg.MaterializeResult:
        store = runtime.store()
        report = build_report(store, market, experiment_of(context, scope.mode), cfg=cfg)
        report_id = save_report(store, report)
        proposals = propose(report.findings, engines)
        ids = [save_proposal(store, p, report_id) for p in proposals]
        findings = pl.DataFrame([{"kind": f.kind, "engine": f.engine, "horizon": f.horizon, "message": f.message}
                                 for f in report.findings],
                                schema={"kind": pl.String(), "engine": pl.String(), "horizon": pl.Int64(),
                                        "message": pl.String()})  # fmt: skip
        degraded = [f for f in report.findings if f.kind in DEGRADED]
        return dg.MaterializeResult(
            metadata={
                "report_id": report_id,
                "summary": dg.MetadataValue.md(report.summary().replace("\n", "\n\n")),
                "slices": table_preview(report.slices.filter(pl.col("horizon_sessions") == cfg.horizon)),
                "findings": table_preview(findings),
                "proposals": ids,
                "plot": png_markdown(slices_png(report.slices, cfg.horizon), "mean outcome by regime"),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check.name,
                    passed=not degraded,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"degraded": len(degraded)},
                )
            ],  # fmt: skip
        )

    return [kronos_asset]
