"""The dilated causal CNN (torch). Imported only where encoders run: importing it imports torch."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from prometheus.encoders.config import NumericEncoderConfig


class CausalBlock(nn.Module):
    """Left-padded dilated convolution with a residual connection: output t sees inputs <= t only."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, time) -> same shape."""
        return x + self.act(self.conv(nn.functional.pad(x, (self.pad, 0))))


class CausalEncoder(nn.Module):
    """Input projection, dilated causal blocks, 1x1 head: (batch, in_channels, time) -> (batch, dim, time)."""

    def __init__(self, in_channels: int, config: NumericEncoderConfig) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_channels, config.channels, 1)
        self.blocks = nn.Sequential(*(CausalBlock(config.channels, config.kernel_size, d) for d in config.dilations))
        self.head = nn.Conv1d(config.channels, config.dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-time embeddings; the one at the last time step is the window's embedding."""
        return self.head(self.blocks(self.inp(x)))


def build_encoder(in_channels: int, config: NumericEncoderConfig, seed: int) -> CausalEncoder:
    """A freshly initialised encoder (deterministic in ``seed``)."""
    configure_torch(config.threads)
    torch.manual_seed(seed)
    return CausalEncoder(in_channels, config)


def configure_torch(threads: int) -> None:
    """Deterministic CPU settings: fixed threads, deterministic algorithms."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def state_to_numpy(model: nn.Module) -> dict[str, np.ndarray]:
    """The weights as float32 numpy arrays, by parameter name."""
    return {k: v.detach().cpu().numpy().astype(np.float32).copy() for k, v in model.state_dict().items()}


def load_state(model: nn.Module, state: dict[str, np.ndarray]) -> nn.Module:
    """Load numpy weights into ``model`` (strict)."""
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return model
