"""Images as arrays for image-to-sequence tasks: decoded with Pillow (a dependency of matplotlib), batch-first.

    image = read_image("cat.png", size=64)          # (64, 64, 3) uint8 RGB; transparency composited on white
    images = as_image_batch(list_of_arrays)          # (B, 3, H, W) float32 in [0, 1] for a CNN
    shifted = random_shift(images, 2)                # training augmentation: random shifts, white fill

Images stay uint8, channels last (H, W, 3), in data sets and model folders' callers (4x smaller than floats);
``as_image_batch`` makes the float, channels-first tensor a CNN wants.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from rnnkit.data.inputs import input_path, read_bytes
from rnnkit.errors import UserError


def rgb_on_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA -> (H, W, 3) uint8 RGB on a white background: ``rgb * a + 255 * (1 - a)``."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return np.rint(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def decode_image(data: bytes, where: str, size: int | None = None) -> np.ndarray:
    """An encoded image (PNG, JPEG, ...) as (H, W, 3) uint8 RGB on white, resized to ``size`` x ``size`` when
    given (Lanczos; the aspect ratio is not kept). ``where`` names the file in errors."""
    try:
        with warnings.catch_warnings():  # a huge image (a decompression bomb) is refused, not decoded
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except UnidentifiedImageError:
        raise UserError(f"{where}: not a readable image (not a format Pillow reads, or damaged)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UserError(f"{where}: not a readable image ({error})") from None
    image = image.convert("RGBA")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.LANCZOS)
    return rgb_on_white(np.asarray(image))


def read_image(path: str | Path, size: int | None = None) -> np.ndarray:
    """The image file ``path`` as (H, W, 3) uint8 (see ``decode_image``)."""
    path = input_path(path)
    return decode_image(read_bytes(path), str(path), size)


def encode_png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def as_image_batch(images: Any) -> torch.Tensor:
    """Images (B, H, W, 3) or a list of (H, W, 3) arrays, uint8 (0-255) or float (0-1) -> (B, 3, H, W) float32
    in [0, 1]. A tensor that is already (B, 3, H, W) float passes through."""
    if isinstance(images, torch.Tensor) and images.is_floating_point() and images.dim() == 4 and images.shape[1] == 3:
        return images
    if isinstance(images, Sequence) and not isinstance(images, torch.Tensor):
        images = np.stack([np.asarray(image) for image in images])
    batch = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if batch.dim() != 4 or batch.shape[-1] != 3:
        raise UserError(f"images must be (batch, height, width, 3) RGB, got shape {tuple(batch.shape)}")
    batch = batch.permute(0, 3, 1, 2)
    return batch.float() / 255.0 if batch.dtype == torch.uint8 else batch.float()


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image (B, C, H, W) in [0, 1] by a random (dy, dx) in [-max_shift, max_shift], filling with
    white (1.0)."""
    B, _, H, W = images.shape
    padded = F.pad(images, (max_shift,) * 4, value=1.0)
    offsets = torch.randint(0, 2 * max_shift + 1, (B, 2), generator=generator)
    return torch.stack([padded[b, :, y:y + H, x:x + W] for b, (y, x) in enumerate(offsets.tolist())])
