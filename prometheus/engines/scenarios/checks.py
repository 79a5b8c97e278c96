"""The Scenarios engine's own output check: no VaR above its expected shortfall."""

from __future__ import annotations

import polars as pl

from prometheus.data.checks import CheckName, CheckOutcome


def tails_check(results: pl.DataFrame) -> CheckOutcome:
    """Every (session, set) VaR row at most the ES row of the same level (``scenario_results``: a VaR/ES row holds
    minus the loss in ``pnl``, named ``var_<level>`` / ``es_<level>``)."""
    tails = results.filter(pl.col("scenario").str.contains(r"^(var|es)_"))
    if tails.is_empty():
        return CheckOutcome(CheckName.TAILS, True, "no VaR or ES rows")
    loss = tails.with_columns(
        (-pl.col("pnl")).alias("loss"),
        pl.col("scenario").str.split("_").list.get(0).alias("measure"),
        pl.col("scenario").str.split("_").list.get(1).alias("level"),
    )
    wide = loss.pivot(on="measure", index=["session", "scenario_set", "level"], values="loss")
    if not {"var", "es"} <= set(wide.columns):
        return CheckOutcome(CheckName.TAILS, False, "VaR rows without ES rows or the reverse")
    broken = wide.filter(pl.col("var") > pl.col("es") + 1e-12).height
    meta = {"pairs": wide.height, "var_above_es": broken}
    if broken:
        return CheckOutcome(CheckName.TAILS, False, f"VaR above ES in {broken} of {wide.height} pairs", metadata=meta)
    return CheckOutcome(CheckName.TAILS, True, "every VaR at most its ES", metadata=meta)
