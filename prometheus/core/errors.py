"""One error hierarchy. Messages locate the problem and, where possible, suggest the fix."""

from __future__ import annotations

from typing import Any


class PrometheusError(Exception):
    """Base of every error the platform raises on purpose."""


class ConfigError(PrometheusError):
    """A setting or config value is missing, unknown or invalid; the message names it."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class DataError(PrometheusError):
    """Bad input data; names the file, row and field where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file is not None else "",
                f"row {row}" if row is not None else "",
                f"field {field!r}" if field is not None else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.row, self.field, self.value = file, row, field, value


class StoreError(PrometheusError):
    """A store could not be read or written (the previous good state is kept)."""


class LookAheadError(PrometheusError):
    """Something asked for data that was not yet known at the view's as-of time."""


class OptimizationError(PrometheusError):
    """An optimiser failed."""


class Infeasible(OptimizationError):
    """The optimisation problem has no feasible point."""


class SolverFailed(OptimizationError):
    """The solver did not converge or crashed."""


class BrokerError(PrometheusError):
    """A broker refused, lost or could not be reached."""


class IllegalTransition(BrokerError):
    """An order event that its current status does not allow."""
