"""Retrieval for captioning: the training images nearest to an image, their captions, and those as memory.

    table = CaptionRetrieval(neighbours=4, embedding_dim=E, memory_size=K)   # neighbours=0: the table only
    table.fill(train_images (N, 3, H, W), caption_ids (N, L))   # word ids, padded with 0
    index, distance = table.nearest(images, count=1)            # (B, 1), (B, 1)
    index, distance = table.nearest_one(many_images)            # (N,), (N,): 256 images at a time
    values, mask, ids = table(images, embedding)                # (B, k L, K), (B, k L) bool, (B, k L)

Nearest is the Euclidean distance between 16 x 16 thumbnails (``THUMBNAIL``), as the nearest-image baseline compares
images; distances are given as the root mean square pixel difference (0-1).

Retrieval-augmented captioning (Sarto et al. 2022; SmallCap, Ramos et al. 2023), with ``neighbours`` = k: the
decoder attends to the words of the k training captions whose images are nearest to the input, beside the image's
own grid, and (with the decoder's copy mechanism) can copy them. Each retrieved word is the memory vector

    m = W_r E w + R_j + d_j u      E: the decoder's word embedding; R_j: a learned vector for the j-th nearest
                                   caption; d_j its distance; u learned

In training the nearest entry of a training image is the image itself, and is skipped (``skip_self``): the model
learns from the neighbours a new image will have, not from its own caption. The table (thumbnails and caption
ids) is held in buffers: the thumbnails are saved with the weights, the captions as text beside the vocabulary.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.data.images import as_image_batch
from rnnkit.tasks.blocks.image_encoder import thumbnail

THUMBNAIL = 16  # side of the thumbnails compared


class CaptionRetrieval(nn.Module):
    def __init__(self, neighbours: int, embedding_dim: int, memory_size: int, channels: int = 3) -> None:
        super().__init__()
        self.neighbours = neighbours
        if neighbours:
            self.project = nn.Linear(embedding_dim, memory_size, bias=False)  # W_r
            self.rank = nn.Parameter(torch.zeros(neighbours, memory_size))  # R_1..R_k
            self.distance = nn.Parameter(torch.zeros(memory_size))  # u
            nn.init.normal_(self.rank, std=0.1)
            nn.init.normal_(self.distance, std=0.1)
        self.register_buffer("keys", torch.zeros(0, channels * THUMBNAIL ** 2))  # (N, D)
        # (N, L): the model folder keeps the captions as text, so they are not saved with the weights
        self.register_buffer("captions", torch.zeros(0, 1, dtype=torch.long), persistent=False)

    def fill(self, images: Any, captions: Tensor) -> None:
        """The table: ``images`` as ``as_image_batch`` takes them (made floats 256 at a time) and their captions'
        word ids (N, L), padded with 0."""
        self.keys = torch.cat([thumbnail(as_image_batch(images[start:start + 256]), THUMBNAIL).flatten(1)
                               for start in range(0, len(images), 256)]).to(self.keys)
        self.captions = captions.to(self.captions.device)

    def nearest(self, images: Tensor, count: int, skip_self: bool = False) -> tuple[Tensor, Tensor]:
        """Indices (B, count) of the table's images nearest to ``images`` (B, C, H, W), nearest first, and their
        distances (B, count) (root mean square pixel difference); ``skip_self``: the nearest of each is left out
        (the image itself, in training)."""
        query = thumbnail(images, THUMBNAIL).flatten(1)  # (B, D)
        distances = (query.square().sum(1, keepdim=True) - 2 * query @ self.keys.T
                     + self.keys.square().sum(1))  # (B, N): squared Euclidean, without cdist (ONNX has none)
        found = distances.topk(min(count + int(skip_self), len(self.keys)), dim=1, largest=False)
        start = int(skip_self)
        rms = (found.values[:, start:].clamp_min(0) / query.shape[1]).sqrt()
        return found.indices[:, start:], rms

    def nearest_one(self, images: Any, batch_size: int = 256) -> tuple[Tensor, Tensor]:
        """The index (N,) of the table's image nearest to each of ``images`` (any number, as ``as_image_batch``
        takes them; made floats ``batch_size`` at a time) and its distance (N,)."""
        found = [self.nearest(as_image_batch(images[start:start + batch_size]).to(self.keys.device), 1)
                 for start in range(0, len(images), batch_size)]
        return torch.cat([index[:, 0] for index, _ in found]), torch.cat([distance[:, 0] for _, distance in found])

    def forward(self, images: Tensor, embedding: nn.Embedding, skip_self: bool = False
                ) -> tuple[Tensor, Tensor, Tensor]:
        """The retrieved captions as memory: values (B, k L, K), mask (B, k L) (True: a word) and word ids."""
        found, distances = self.nearest(images, self.neighbours, skip_self)
        ids = self.captions[found]  # (B, k, L)
        values = (self.project(embedding(ids)) + self.rank[:ids.shape[1], None, :]
                  + distances[:, :, None, None] * self.distance)  # (B, k, L, K)
        return values.flatten(1, 2), (ids != 0).flatten(1), ids.flatten(1)
