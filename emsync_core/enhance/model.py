"""A small 1-D U-Net that predicts the full-band signal as a residual on the band-limited input."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

STRIDE = 4  # each level quarters the rate


@dataclass(frozen=True)
class UNetConfig:
    channels: tuple[int, ...] = (16, 32, 48, 64)  # full rate, then one entry per down-sampling level
    kernel: int = 9

    @property
    def hop(self) -> int:
        """Input lengths must be multiples of this."""
        return STRIDE ** (len(self.channels) - 1)

    def to_dict(self) -> dict:
        return asdict(self)


class _Block(nn.Module):
    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.conv(x))


class BandwidthUNet(nn.Module):
    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        self.config = config
        c, k = config.channels, config.kernel
        self.stem = nn.Sequential(nn.Conv1d(1, c[0], k, padding=k // 2), nn.GELU())
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv1d(c[i], c[i + 1], 2 * STRIDE, stride=STRIDE, padding=STRIDE // 2), nn.GELU(), _Block(c[i + 1], k))
            for i in range(len(c) - 1))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose1d(c[i + 1], c[i], STRIDE, stride=STRIDE), nn.GELU())
            for i in reversed(range(len(c) - 1)))
        self.up_blocks = nn.ModuleList(_Block(c[i], k) for i in reversed(range(len(c) - 1)))
        self.head = nn.Conv1d(c[0], 1, k, padding=k // 2)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # starts as the identity: the band-limited input itself

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, samples); samples a multiple of config.hop."""
        h = self.stem(x.unsqueeze(1))
        skips = [h]
        for down in self.downs:
            h = down(h)
            skips.append(h)
        skips.pop()
        for up, block in zip(self.ups, self.up_blocks):
            h = block(up(h) + skips.pop())
        return x + self.head(h).squeeze(1)
