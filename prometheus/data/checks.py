"""Output checks every engine and encoder asset reports: pure functions of a frame and its declared rules.

Dagster asset checks wrap these outcomes; the logic stays here so it is tested without Dagster. Engines get their
rules from their :class:`~prometheus.engines.base.EngineSpec`, lake tables from their
:class:`~prometheus.data.schema.TableSchema`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import polars as pl

from prometheus.data.schema import TableSchema

#: Tolerance on a probability vector's sum.
PROBABILITY_SUM_TOLERANCE = 1e-6


class CheckName(StrEnum):
    """The output checks, one asset check each."""

    SCHEMA = "schema"
    SESSIONS = "one_row_set_per_session"
    DECISION_VALUES = "no_nan_in_decision_columns"
    PROBABILITIES = "probabilities_valid"
    LIMITS = "limits_hold"  # an engine's own check: target weights within the portfolio limits
    TAILS = "var_not_above_es"  # an engine's own check: every VaR at most its ES


class Severity(StrEnum):
    """How bad a failed check is: ERROR means the output is wrong, WARN that it is thin."""

    ERROR = "error"
    WARN = "warn"


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict with figures that explain it."""

    name: CheckName
    passed: bool
    description: str
    severity: Severity = Severity.ERROR
    metadata: Mapping[str, int | float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class FrameRules:
    """What a frame is checked against: schema, row key, session column, decision and probability columns."""

    schema: Mapping[str, pl.DataType]
    key: tuple[str, ...]
    session_column: str | None = "session"
    decision_columns: tuple[str, ...] = ()
    probabilities: str | None = None
    #: Decision columns where null means "not computed yet" (declared nullable); NaN is still a fault there.
    nullable: frozenset[str] = frozenset()

    @classmethod
    def of_table(
        cls, table: TableSchema, decision_columns: tuple[str, ...] = (), *, per_session: bool = True
    ) -> FrameRules:
        """The rules of a lake table's rows as written (one revision per key); ``per_session``: every session of
        the window has rows in ``date`` (False for sparse facts such as news, or per-period models)."""
        nullable = frozenset(c.name for c in table.columns if c.nullable)
        return cls(table.dtypes, table.revision_key, "date" if per_session else None, decision_columns, None, nullable)


def check_names(rules: FrameRules) -> tuple[CheckName, ...]:
    """The checks that apply to frames under ``rules`` (probabilities only where there is such a column)."""
    names = [CheckName.SCHEMA, CheckName.SESSIONS, CheckName.DECISION_VALUES, CheckName.PROBABILITIES]
    return tuple(
        n
        for n in names
        if (n is not CheckName.SESSIONS or rules.session_column)
        and (n is not CheckName.PROBABILITIES or rules.probabilities)
    )


def frame_checks(rules: FrameRules, frame: pl.DataFrame, sessions: Sequence[date]) -> tuple[CheckOutcome, ...]:
    """Every applicable check of ``frame``, the output for ``sessions``."""
    schema = _schema(rules, frame)
    if not schema.passed:
        # The other checks read declared columns; on a malformed frame they would only repeat this failure.
        return (schema,)
    out = [schema]
    if rules.session_column:
        out.append(_sessions(rules.session_column, rules.key, frame, sessions))
    out.append(_decision_values(rules, frame))
    if rules.probabilities:
        out.append(_probabilities(rules.probabilities, frame))
    return tuple(out)


def _schema(rules: FrameRules, frame: pl.DataFrame) -> CheckOutcome:
    missing = [c for c in rules.schema if c not in frame.columns]
    wrong = [f"{c}: {frame.schema[c]} != {t}" for c, t in rules.schema.items() if c in frame.columns
             and frame.schema[c] != t]  # fmt: skip
    extra = [c for c in frame.columns if c not in rules.schema]
    passed = not (missing or wrong or extra)
    text = "columns and dtypes as declared" if passed else f"missing {missing}, wrong {wrong}, undeclared {extra}"
    return CheckOutcome(CheckName.SCHEMA, passed, text, metadata={"columns": len(frame.columns)})


def _sessions(s: str, key: tuple[str, ...], frame: pl.DataFrame, sessions: Sequence[date]) -> CheckOutcome:
    wanted = set(sessions)
    found = set(frame[s].to_list())
    foreign = len(found - wanted)
    duplicates = frame.height - frame.select(key).unique().height
    times = "decision_time" in frame.columns and frame.group_by(s).agg(pl.col("decision_time").n_unique() > 1)
    split = int(times["decision_time"].sum()) if isinstance(times, pl.DataFrame) and times.height else 0
    missing = len(wanted - found)
    meta = {"sessions": len(wanted), "decided": len(found & wanted), "missing": missing, "foreign": foreign,
            "duplicate_keys": duplicates, "sessions_with_several_decision_times": split}  # fmt: skip
    if foreign or duplicates or split:
        return CheckOutcome(CheckName.SESSIONS, False, "rows outside the sessions, duplicated keys or a session "
                            "decided at several times", metadata=meta)  # fmt: skip
    if missing:
        # Thin history (warm-up, too few names) leaves sessions undecided; the run's notes say why.
        return CheckOutcome(CheckName.SESSIONS, False, f"{missing} of {len(wanted)} sessions without rows",
                            Severity.WARN, meta)  # fmt: skip
    return CheckOutcome(CheckName.SESSIONS, True, "one row set per session", metadata=meta)


def _decision_values(rules: FrameRules, frame: pl.DataFrame) -> CheckOutcome:
    bad: dict[str, int] = {}
    for c in rules.decision_columns:
        col, dtype = pl.col(c), frame.schema[c]
        missing = pl.lit(False) if c in rules.nullable else col.is_null()
        if dtype.is_float():
            invalid = missing | col.is_nan().fill_null(False)
        elif isinstance(dtype, pl.List | pl.Array) and dtype.inner.is_float():
            # A vector (an embedding) is bad when it is missing or holds a NaN.
            as_list = col.cast(pl.List(dtype.inner))
            invalid = missing | as_list.list.eval(pl.element().is_nan()).list.any().fill_null(False)
        else:
            invalid = missing
        n = int(frame.select(invalid.sum()).item())
        if n:
            bad[c] = n
    passed = not bad
    text = "no NaN or null in " + ", ".join(rules.decision_columns) if passed else f"NaN or null: {bad}"
    return CheckOutcome(CheckName.DECISION_VALUES, passed, text, metadata={"bad_values": sum(bad.values())})


def _probabilities(column: str, frame: pl.DataFrame) -> CheckOutcome:
    p = frame.select(
        pl.col(column).list.min().alias("lo"),
        pl.col(column).list.max().alias("hi"),
        pl.col(column).list.sum().alias("s"),
    )
    out_of_range = int(p.select(((pl.col("lo") < 0) | (pl.col("hi") > 1) | pl.col("lo").is_null()).sum()).item())
    off_sum = int(p.select(((pl.col("s") - 1).abs() > PROBABILITY_SUM_TOLERANCE).sum()).item())
    passed = not (out_of_range or off_sum)
    text = "every probability in [0, 1], each row sums to 1" if passed else (
        f"{out_of_range} rows outside [0, 1], {off_sum} rows not summing to 1")  # fmt: skip
    return CheckOutcome(CheckName.PROBABILITIES, passed, text,
                        metadata={"rows_out_of_range": out_of_range, "rows_off_sum": off_sum})  # fmt: skip
