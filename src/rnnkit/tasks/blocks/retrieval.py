"""Retrieval for captioning: the captions of the training images nearest to an image, as attention memory.

    table = CaptionRetrieval(neighbours=4, embedding_dim=E, memory_size=K)
    table.fill(train_images (N, 3, H, W), caption_ids (N, L))   # word ids, padded with 0
    values, mask, ids = table(images, embedding)                # (B, k L, K), (B, k L) bool, (B, k L)

Retrieval-augmented captioning (Sarto et al. 2022; SmallCap, Ramos et al. 2023): the decoder attends to the words
of the k training captions whose images are nearest to the input, beside the image's own grid, and (with the
decoder's copy mechanism) can copy them, so it keeps the words a nearest-image lookup gets right and changes the
rest. Nearest is the Euclidean distance between 16 x 16 thumbnails (``THUMBNAIL``), as the nearest-image baseline
compares images. Each retrieved word is the memory vector

    m = W_r E w + R_j          E: the decoder's word embedding; R_j: a learned vector for the j-th nearest caption

In training the nearest entry of a training image is the image itself, and is skipped (``skip_self``): the model
learns from the neighbours a new image will have, not from its own caption. The table (thumbnails and caption
ids) is held in buffers: the thumbnails are saved with the weights, the captions as text beside the vocabulary.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.tasks.blocks.image_encoder import thumbnail

THUMBNAIL = 16  # side of the thumbnails compared


class CaptionRetrieval(nn.Module):
    def __init__(self, neighbours: int, embedding_dim: int, memory_size: int, entries: int = 0,
                 caption_length: int = 0, channels: int = 3) -> None:
        super().__init__()
        self.neighbours = neighbours
        self.project = nn.Linear(embedding_dim, memory_size, bias=False)  # W_r
        self.rank = nn.Parameter(torch.zeros(neighbours, memory_size))  # R_1..R_k
        nn.init.normal_(self.rank, std=0.1)
        self.register_buffer("keys", torch.zeros(entries, channels * THUMBNAIL ** 2))  # (N, D)
        # (N, L): the model folder keeps the captions as text, so they are not saved with the weights
        self.register_buffer("captions", torch.zeros(entries, caption_length, dtype=torch.long), persistent=False)

    def fill(self, images: Tensor, captions: Tensor) -> None:
        """The table: ``images`` (N, C, H, W) in [0, 1] and their captions' word ids (N, L), padded with 0."""
        self.keys = torch.cat([thumbnail(images[start:start + 256], THUMBNAIL).flatten(1)
                               for start in range(0, len(images), 256)]).to(self.keys)
        self.captions = captions.to(self.captions.device)

    def nearest(self, images: Tensor, skip_self: bool = False) -> Tensor:
        """Indices (B, k) of the table's images nearest to ``images`` (B, C, H, W), nearest first; ``skip_self``:
        the nearest of each is left out (the image itself, in training)."""
        query = thumbnail(images, THUMBNAIL).flatten(1)  # (B, D)
        distances = (query.square().sum(1, keepdim=True) - 2 * query @ self.keys.T
                     + self.keys.square().sum(1))  # (B, N): squared Euclidean, without cdist (ONNX has none)
        count = min(self.neighbours + int(skip_self), len(self.keys))
        found = distances.topk(count, dim=1, largest=False).indices
        return found[:, 1:] if skip_self else found

    def forward(self, images: Tensor, embedding: nn.Embedding, skip_self: bool = False
                ) -> tuple[Tensor, Tensor, Tensor]:
        """The retrieved captions as memory: values (B, k L, K), mask (B, k L) (True: a word) and word ids."""
        ids = self.captions[self.nearest(images, skip_self)]  # (B, k, L)
        values = self.project(embedding(ids)) + self.rank[:ids.shape[1], None, :]  # (B, k, L, K)
        return values.flatten(1, 2), (ids != 0).flatten(1), ids.flatten(1)
