"""Self-supervised training and blockwise inference of the causal encoder (torch; imported lazily).

Objective: co-movement contrastive learning. For a name i at session t the positive is the window of its
nearest neighbour j (highest residual-return correlation over the training window, computed without labels)
at the same session; the other windows of the batch (other names at t and other sessions) are negatives.
Windows are augmented by random scaling and jitter. The loss is the symmetric InfoNCE.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from prometheus.encoders.config import NumericEncoderConfig
from prometheus.encoders.numeric.network import build_encoder, configure_torch, load_state, state_to_numpy

#: Sessions per inference block and names per inference batch: fixed shapes keep results independent of how
#: many sessions or names a run holds (the same arithmetic for the same window).
BLOCK_SESSIONS = 21
BLOCK_NAMES = 64


def train_encoder(
    inputs: np.ndarray,
    valid: np.ndarray,
    neighbours: np.ndarray,
    rows: np.ndarray,
    config: NumericEncoderConfig,
    *,
    seed: int,
    init: dict[str, np.ndarray] | None,
    steps: int,
) -> tuple[dict[str, np.ndarray], float]:
    """Train on windows ending at ``rows`` of ``inputs`` (sessions, names, channels); returns weights and loss.

    ``valid[t, i]`` says the window of name i ending at t may be used; ``neighbours[i]`` is i's positive (-1:
    none).
    """
    model = build_encoder(inputs.shape[-1], config, seed)
    if init is not None:
        load_state(model, init)
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    usable = valid & (neighbours[None, :] >= 0)
    usable[:, neighbours >= 0] &= valid[:, neighbours[neighbours >= 0]]
    candidates = rows[usable[rows].sum(axis=1) >= 2]
    if candidates.size == 0:
        return state_to_numpy(model), float("nan")
    loss_value = float("nan")
    model.train()
    for _ in range(steps):
        anchor, positive, groups = _batch(inputs, usable, neighbours, candidates, config, rng)
        za = _last(model, anchor)
        zp = _last(model, positive)
        loss = _info_nce(za, zp, config.temperature, groups)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        loss_value = float(loss.detach())
    return state_to_numpy(model), loss_value


def _batch(
    inputs: np.ndarray,
    usable: np.ndarray,
    neighbours: np.ndarray,
    candidates: np.ndarray,
    config: NumericEncoderConfig,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    sessions = rng.choice(candidates, size=min(config.batch_sessions, candidates.size), replace=False)
    ts, names = [], []
    for t in np.sort(sessions):
        ok = np.flatnonzero(usable[t])
        pick = rng.choice(ok, size=min(config.batch_names, ok.size), replace=False)
        ts.append(np.full(pick.size, t))
        names.append(np.sort(pick))
    t_idx, i_idx = np.concatenate(ts), np.concatenate(names)
    anchor = _windows(inputs, t_idx, i_idx, config.receptive_field)
    positive = _windows(inputs, t_idx, neighbours[i_idx], config.receptive_field)
    groups = torch.from_numpy(t_idx)
    return _augment(anchor, rng, config.jitter), _augment(positive, rng, config.jitter), groups


def _windows(inputs: np.ndarray, t: np.ndarray, i: np.ndarray, length: int) -> np.ndarray:
    rows = t[:, None] + np.arange(-length + 1, 1)[None, :]
    ok = rows >= 0
    w = inputs[np.clip(rows, 0, None), i[:, None]]  # (batch, length, channels)
    w = np.where(ok[..., None], w, 0.0)
    return np.ascontiguousarray(w.transpose(0, 2, 1)).astype(np.float32)


def _augment(x: np.ndarray, rng: np.random.Generator, jitter: float) -> torch.Tensor:
    scale = rng.uniform(0.8, 1.2, size=(x.shape[0], 1, 1)).astype(np.float32)
    noise = rng.normal(0.0, jitter, size=x.shape).astype(np.float32)
    return torch.from_numpy(x * scale + noise)


def _last(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return nn.functional.normalize(model(x)[:, :, -1], dim=1)


def _info_nce(za: torch.Tensor, zp: torch.Tensor, temperature: float, groups: torch.Tensor) -> torch.Tensor:
    # Negatives are the other names of the same session only: windows of other sessions differ by the market
    # path, an easy cue that would teach nothing about which names move together.
    logits = za @ zp.T / temperature
    logits = logits.masked_fill(groups[:, None] != groups[None, :], float("-inf"))
    target = torch.arange(za.shape[0])
    return 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target))


def embed(
    inputs: np.ndarray, rows: np.ndarray, state: dict[str, np.ndarray], config: NumericEncoderConfig
) -> np.ndarray:
    """Embeddings of every name at the sessions ``rows`` (sorted): shape (len(rows), names, dim), float32.

    Sessions are processed in fixed blocks of :data:`BLOCK_SESSIONS` (the block's input starts
    ``receptive_field - 1`` sessions earlier, zero-padded outside the panel), names in fixed batches of
    :data:`BLOCK_NAMES`: the embedding of a window does not depend on what else the run computes.
    """
    model = build_encoder(inputs.shape[-1], config, 0)
    load_state(model, state)
    model.eval()
    n_t, n_names, n_ch = inputs.shape
    rf = config.receptive_field
    out = np.zeros((rows.size, n_names, config.dim), dtype=np.float32)
    blocks = _blocks_of(rows)
    with torch.inference_mode():
        for start in blocks:
            span = np.arange(start - rf + 1, start + BLOCK_SESSIONS)
            ok = (span >= 0) & (span < n_t)
            x = np.zeros((span.size, n_names, n_ch), dtype=np.float32)
            x[ok] = inputs[span[ok]]
            y = _run_names(model, x)  # (block, names, dim)
            for k, t in enumerate(range(start, start + BLOCK_SESSIONS)):
                hit = np.searchsorted(rows, t)
                if hit < rows.size and rows[hit] == t:
                    out[hit] = y[k]
    return out


def _blocks_of(rows: np.ndarray) -> list[int]:
    # Blocks are anchored at multiples of BLOCK_SESSIONS so a session always falls in the same block.
    return sorted({int(t) - int(t) % BLOCK_SESSIONS for t in rows})


def _run_names(model: nn.Module, x: np.ndarray) -> np.ndarray:
    n_span, n_names, n_ch = x.shape
    out = []
    for s in range(0, n_names, BLOCK_NAMES):
        chunk = np.zeros((BLOCK_NAMES, n_ch, n_span), dtype=np.float32)
        part = x[:, s : s + BLOCK_NAMES].transpose(1, 2, 0)
        chunk[: part.shape[0]] = part
        y = model(torch.from_numpy(chunk)).numpy()  # (names, dim, span)
        out.append(y[: part.shape[0], :, -BLOCK_SESSIONS:].transpose(2, 0, 1))
    return np.concatenate(out, axis=1)


def seed_everything(seed: int, threads: int) -> None:
    """Seed torch and fix its threads (numpy generators are seeded explicitly by callers)."""
    configure_torch(threads)
    torch.manual_seed(seed)
