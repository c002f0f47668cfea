"""A small CNN that turns images into what a decoder needs: a grid of feature vectors and one pooled vector.

    encoder = ImageEncoder(ImageEncoderConfig(channels=(32, 64, 128)))
    grid, pooled = encoder(images)        # (B, 3, H, W) in [0, 1] -> (B, S, K) with S = h * w, and (B, K)

Each block is ``[conv 3x3 -> norm -> ReLU] x 2 -> max-pool 2x2`` (VGG's pattern), so a 64 x 64 image becomes an
8 x 8 grid after three blocks; K is the last block's channel count. The grid is the decoder's attention memory
(one position per image region, row-major: position s is row ``s // w``, column ``s % w``), and its mean over
positions initialises the decoder's state; with ``thumbnail`` = t that pooled vector also holds the image
averaged down to t x t pixels (a pixel-space view, as the nearest-image baseline compares images). Norm:
BatchNorm (``"batch"``), GroupNorm with 8 groups (``"group"``, for small batches) or none. Inputs are centred
(``x - 0.5``) before the first convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("batch", "group", "none")


@dataclass
class ImageEncoderConfig:
    in_channels: int = 3
    channels: tuple[int, ...] = field(default=(32, 64, 128), metadata={
        "help": "CNN channels per block; each block halves the image"})
    norm: str = field(default="batch", metadata={"help": "normalisation in each block", "choices": NORMS})
    dropout: float = 0.0  # on the grid features
    thumbnail: int = field(default=0, metadata={
        "help": "the pooled vector also holds the image itself at this many pixels square (0: the CNN's only)"})

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)  # a JSON list from a model folder
        if self.norm not in NORMS:
            raise ValueError(f"image encoder norm must be one of {NORMS}, got {self.norm!r}")
        if not self.channels or min(self.channels) < 1 or self.in_channels < 1:
            raise ValueError(f"image encoder channels must be positive, got {self.channels}")
        if self.norm == "group" and any(c % 8 for c in self.channels):
            raise ValueError(f"GroupNorm uses 8 groups: channels must be multiples of 8, got {self.channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.thumbnail < 0:
            raise ValueError(f"thumbnail must be >= 0 (0: none), got {self.thumbnail}")

    @property
    def output_size(self) -> int:
        return self.channels[-1]

    @property
    def pooled_size(self) -> int:
        """Size of the pooled vector: the CNN's channels, and the thumbnail's pixels."""
        return self.channels[-1] + self.in_channels * self.thumbnail ** 2

    def grid_shape(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of the feature grid for an input of ``height`` x ``width``."""
        for _ in self.channels:
            height, width = height // 2, width // 2
        return height, width


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(8, channels)
    return nn.Identity()


class ImageEncoder(nn.Module):
    def __init__(self, config: ImageEncoderConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        previous = config.in_channels
        for channels in config.channels:
            for i in range(2):
                layers += [nn.Conv2d(previous if i == 0 else channels, channels, 3, padding=1,
                                     bias=config.norm == "none"),  # a norm's shift makes a bias redundant
                           _norm(config.norm, channels), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2))
            previous = channels
        self.blocks = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``images`` (B, C, H, W) in [0, 1] -> ``(grid (B, h*w, K), pooled (B, pooled_size))``."""
        if min(self.config.grid_shape(*images.shape[-2:])) < 1:
            raise ValueError(f"images of {tuple(images.shape[-2:])} are too small for "
                             f"{len(self.config.channels)} pooling blocks")
        features = self.blocks(images - 0.5)  # (B, K, h, w)
        grid = self.dropout(features.flatten(2).transpose(1, 2))  # (B, S, K), row-major positions
        pooled = features.mean(dim=(2, 3))  # (B, K)
        if self.config.thumbnail:  # (B, K + C t^2): what a nearest-image lookup compares, for the state to start from
            pooled = torch.cat([pooled, thumbnail(images - 0.5, self.config.thumbnail).flatten(1)], 1)
        return grid, pooled


def thumbnail(images: Tensor, side: int) -> Tensor:
    """``images`` (B, C, H, W) averaged down to (B, C, side, side): blocks of whole pixels when ``side`` divides H
    and W (a reshape, which ONNX exports for any size), else PyTorch's adaptive pooling."""
    batch, channels, height, width = images.shape
    if height % side or width % side:
        return F.adaptive_avg_pool2d(images, side)
    return images.reshape(batch, channels, side, height // side, side, width // side).mean(dim=(3, 5))
