"""Daily equity of a fixed-weight portfolio rebalanced at the close, fractional shares, no costs (pure NumPy).

Written independently of ``prometheus.execution``: holdings are reset to ``weights * equity / close`` on every
rebalance session, and between rebalances equity = cash + holdings . close.
"""

from __future__ import annotations

import numpy as np


def fixed_weight_equity(
    close: np.ndarray, weights: np.ndarray, rebalance: np.ndarray, initial_cash: float
) -> np.ndarray:
    """Equity at every close.

    Parameters
    ----------
    close
        (T, N) prices, all finite and positive.
    weights
        (N,) target weights; ``1 - weights.sum()`` stays in cash.
    rebalance
        (T,) bool, True on sessions that rebalance at the close.
    initial_cash
        Starting cash.
    """
    n_t = close.shape[0]
    # Segment k runs from rebalance k to the session before rebalance k+1; holdings are constant within it.
    starts = np.flatnonzero(rebalance)
    seg = np.cumsum(rebalance) - 1  # segment id of each session (-1 before the first rebalance)
    equity = np.full(n_t, float(initial_cash))
    eq_at_rebalance = float(initial_cash)
    holdings = np.zeros((len(starts), close.shape[1]))
    cash = np.zeros(len(starts))
    for k, s in enumerate(starts):
        if k:
            eq_at_rebalance = cash[k - 1] + holdings[k - 1] @ close[s]
        holdings[k] = weights * eq_at_rebalance / close[s]
        cash[k] = eq_at_rebalance - holdings[k] @ close[s]
    inside = seg >= 0
    equity[inside] = cash[seg[inside]] + np.einsum("tn,tn->t", holdings[seg[inside]], close[inside])
    return equity
