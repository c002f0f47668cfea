"""Image captioning: ``ImageCaptioner``, a CNN encoder and the attention decoder (Show, Attend and Tell).

    image (B, 3, H, W) --CNN (rnnkit.tasks.blocks.image_encoder)--> grid m_1..m_S (B, S, K), pooled mean (B, K)
    decoder (rnnkit.tasks.blocks.decoder): state_0 = tanh(W mean), attention over the S image regions at every
    word, input feeding; outputs w_1..w_n, </s>
    loss: word cross-entropy, optional label smoothing (rnnkit.tasks.encoder_decoder, shared with Seq2Seq)

The caption vocabulary (words, lower case) is built on the training captions only, with ``<s>`` and ``</s>`` at
ids 2 and 3 (``rnnkit.tasks.vocabulary``), and lives in the model folder. Images are given as the data sets hold them,
channels last: (B, H, W, 3) uint8 (0-255) or float (0-1), or a list of (H, W, 3) arrays.

    model = ImageCaptioner.for_data(train_captions, CaptionerConfig(ImageEncoderConfig(channels=(32, 64, 128))))
    Trainer(model, TrainConfig(max_epochs=30)).fit(model.dataset(images, captions), collate_fn=caption_collate)
    model.caption(new_images, beam=3)                  # ["grinning face", ...]

Training may shift images by up to ``augment_shift`` pixels (random, per image, filled with white): the same
picture a few pixels off is the same caption, which helps a model that sees each image once per epoch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.captions import CaptionDataset
from rnnkit.data.images import as_image_batch, random_shift
from rnnkit.data.text import UNK, Tokenizer
from rnnkit.errors import UserError
from rnnkit.nn.config import RecurrentConfig
from rnnkit.tasks.blocks.decoder import AttentionDecoder, AttentionDecoderConfig, Memory
from rnnkit.tasks.blocks.image_encoder import ImageEncoder, ImageEncoderConfig
from rnnkit.tasks.blocks.retrieval import CaptionRetrieval
from rnnkit.tasks.decoding.limits import length_cap, warn_capped
from rnnkit.tasks.encoder_decoder import EncoderDecoderModel
from rnnkit.tasks.vocabulary import BOS, EOS, build_vocabulary, encode_marked


CAPTION_LIMIT = "the maximum caption length without ending"


@dataclass
class CaptionerConfig:
    # the thumbnail: the decoder starts from the image in pixels too (held-out emoji BLEU: bench/caption_twemoji.py)
    encoder: ImageEncoderConfig = field(default_factory=lambda: ImageEncoderConfig(thumbnail=16))
    decoder: AttentionDecoderConfig = field(
        default_factory=lambda: AttentionDecoderConfig(rnn=RecurrentConfig(hidden_size=256)))
    image_size: int = field(default=64, metadata={  # the CNN itself takes any size
        "help": "images are resized to this many pixels square"})
    label_smoothing: float = field(default=0.0, metadata={"help": "label smoothing of the loss"})
    augment_shift: int = field(default=0, metadata={"help": "training: random shifts of up to this many pixels"})
    neighbours: int = field(default=0, metadata={
        "help": "the decoder also reads, and can copy from, the captions of this many nearest training images "
                "(0: none)"})
    max_output_length: int = field(default=0, metadata={
        "help": "most words in a caption (</s> counted); 0: 1.5 x the longest training caption + 10"})

    def __post_init__(self) -> None:
        if self.decoder.memory_size and self.decoder.memory_size != self.encoder.output_size:
            raise ValueError(f"decoder.memory_size {self.decoder.memory_size} must equal the encoder's output "
                             f"size {self.encoder.output_size}")
        if not 0 <= self.label_smoothing < 1 or min(self.augment_shift, self.max_output_length, self.neighbours) < 0:
            raise ValueError(f"label_smoothing must be in [0, 1), augment_shift, max_output_length (0: from the "
                             f"training captions) and neighbours >= 0; got {self.label_smoothing}, "
                             f"{self.augment_shift}, {self.max_output_length}, {self.neighbours}")
        if not isinstance(self.image_size, int) or self.image_size < 1:
            raise ValueError(f"image_size must be an integer >= 1, got {self.image_size!r}")


class ImageCaptioner(EncoderDecoderModel):
    task = "captioning"
    config_class: ClassVar[type] = CaptionerConfig

    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ImageEncoder(config.encoder)
        self.decoder = AttentionDecoder(config.decoder)
        self.retrieval = (CaptionRetrieval(config.neighbours, config.decoder.embedding_dim, config.encoder.output_size,
                                           channels=config.encoder.in_channels) if config.neighbours else None)
        self.vocab: Tokenizer | None = None
        self.retrieval_captions: list[str] = []  # the table's captions (its thumbnails are a buffer)

    @classmethod
    def for_data(cls, captions: Sequence[str], config: CaptionerConfig | None = None, *, min_count: int = 1,
                 max_vocab: int | None = None, images: Any = None) -> ImageCaptioner:
        """A new model for ``config`` (None: the defaults) whose word vocabulary is built on the training
        ``captions`` (words seen fewer than ``min_count`` times, or beyond ``max_vocab`` ids, are ``<unk>``), and
        whose ``max_output_length``, when 0, leaves room for the longest of them (``length_cap``). With
        ``neighbours`` (retrieval), the training ``images`` (one per caption) and ``captions`` are its table."""
        config = cls.settings(config)
        if not captions:
            raise UserError("need at least one training caption")
        if config.neighbours and (images is None or len(images) != len(captions)):
            raise UserError(f"neighbours={config.neighbours} retrieves training captions by their images: give "
                            f"for_data the training images, one per caption")
        vocab = build_vocabulary(captions, level="word", lowercase=True, min_count=min_count, max_size=max_vocab)
        size = config.encoder.output_size
        decoder = dataclasses.replace(config.decoder, vocab_size=len(vocab), memory_size=size,
                                      init_size=config.encoder.pooled_size, copy=config.neighbours > 0)
        longest = max(len(vocab.split(text)) for text in captions)
        model = cls(dataclasses.replace(config, decoder=decoder,
                                        max_output_length=config.max_output_length or length_cap(longest)))
        model.vocab = vocab
        if model.retrieval is not None:
            model.retrieval_captions = list(captions)
            model.retrieval.fill(as_image_batch(images), model._retrieval_ids())
        return model

    # --- data ------------------------------------------------------------------------------------------------

    def _vocab(self) -> Tokenizer:
        if self.vocab is None:
            raise UserError("ImageCaptioner has no vocabulary: build it with ImageCaptioner.for_data(captions)")
        return self.vocab

    def _retrieval_ids(self) -> Tensor:
        """The table's captions as word ids (N, L), padded with 0."""
        rows = [self.encode_caption(text)[1:-1] for text in self.retrieval_captions]
        ids = torch.zeros(len(rows), max(map(len, rows), default=0) or 1, dtype=torch.long)
        for row, words in zip(ids, rows):
            row[:len(words)] = torch.from_numpy(words)
        return ids

    def encode_caption(self, text: str) -> np.ndarray:
        return encode_marked(self._vocab(), text)

    def normalise(self, text: str) -> str:
        """``text`` as the model writes captions: its tokenizer's words (lower case), joined by spaces."""
        return " ".join(self._vocab().split(text))

    def dataset(self, images: Any, captions: Sequence[str]) -> CaptionDataset:
        """The trainer's data set (batch it with ``caption_collate``)."""
        return CaptionDataset(images, [self.encode_caption(text) for text in captions])

    # --- model -----------------------------------------------------------------------------------------------

    def encode(self, images: Any) -> tuple[Memory, tuple[Tensor, ...]]:
        """The decoder's memory (the CNN's grid, then the retrieved captions' words) and initial state (from the
        pooled features) for ``images``."""
        batch = original = as_image_batch(images).to(next(self.parameters()).device)
        if self.training and self.config.augment_shift:
            batch = random_shift(batch, self.config.augment_shift)
        grid, pooled = self.encoder(batch)
        if self.retrieval is None:
            memory = self.decoder.memory(grid)
        else:  # the words can be copied: source ids 0 (none) on the grid's positions
            words, mask, ids = self.retrieval(original, self.decoder.embedding, skip_self=self.training)
            on_grid = torch.ones(grid.shape[:2], dtype=torch.bool, device=grid.device)
            memory = self.decoder.memory(torch.cat([grid, words], 1), torch.cat([on_grid, mask], 1),
                                         torch.cat([torch.zeros_like(on_grid, dtype=ids.dtype), ids], 1))
        return memory, self.decoder.init_state(memory, pooled)

    def split_batch(self, batch: Any) -> tuple[tuple[Any], Tensor, Tensor]:
        images, captions, lengths = batch  # caption_collate's layout
        return (images,), captions, lengths

    def forward(self, images: Any, captions: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: log probabilities (N, V) of the N real words of ``captions[:, 1:]`` (row-major), and
        the attention (B, T-1, S)."""
        return self.teacher_forced((images,), captions)

    # --- captioning ----------------------------------------------------------------------------------------

    @torch.no_grad()
    def caption(self, images: Any, *, beam: int = 1, alpha: float = 0.0, max_length: int | None = None,
                batch_size: int = 64, return_details: bool = False, return_attention: bool = False,
                progress: Callable[[int, int], None] | None = None) -> Any:
        """Captions for ``images``: greedy (``beam=1``) or beam search (GNMT length penalty ``alpha``), never
        ``<unk>`` (a caption word that says nothing), at most ``max_length`` words (default: the config's
        ``max_output_length``; 30 when it is 0). With ``return_details`` (``return_attention``: its former
        name): ``(captions, details)``, one dict per image with ``words``, ``attention`` (n words + ``</s>``, h,
        w) as numpy (where the decoder looked for each word) and ``capped`` (True: the caption reached
        ``max_length`` without ``</s>`` and was cut); without it, cut captions raise an ``OutputCappedWarning``.
        ``progress``: called ``(images done, images)`` after each batch (``rnnkit.train.progress.CountProgress``)."""
        vocab = self._vocab()
        images = images if isinstance(images, (np.ndarray, torch.Tensor)) else np.stack(list(images))
        limit = max_length or self.config.max_output_length or 30
        was_training = self.training
        self.eval()
        captions: list[str] = []
        details: list[dict[str, Any]] = []
        try:
            for start in range(0, len(images), batch_size):
                batch = as_image_batch(images[start:start + batch_size])
                memory, state = self.encode(batch)
                options = {"bos": BOS, "eos": EOS, "max_length": limit, "suppress": (0, UNK, BOS)}
                found = (self.decoder.greedy(memory, state, **options) if beam <= 1 else
                         self.decoder.beam(memory, state, beam_size=beam, alpha=alpha, **options))
                grid = self.config.encoder.grid_shape(*batch.shape[-2:])
                for tokens, weights, cut in zip(found.tokens, found.extras, found.capped):
                    words = vocab.decode(tokens)
                    captions.append(" ".join(words))
                    on_grid = weights[:, :grid[0] * grid[1]]  # the image's positions (retrieved words follow)
                    details.append({"words": words, "attention": on_grid.cpu().numpy().reshape(-1, *grid),
                                    "capped": cut})
                if progress is not None:
                    progress(min(start + batch_size, len(images)), len(images))
        finally:
            self.train(was_training)
        if return_details or return_attention:
            return captions, details
        warn_capped([d["capped"] for d in details], CAPTION_LIMIT, "max_length (or the model's max_output_length)")
        return captions

    # --- model folder ------------------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, document: dict[str, Any], *, where: str = "config.json") -> ImageCaptioner:
        """As ``TaskModel.from_config``; a folder saved before the encoder had ``thumbnail`` has none (0), not
        today's default."""
        config = document.get("config")
        encoder = config.get("encoder") if isinstance(config, dict) else None
        if isinstance(encoder, dict) and "thumbnail" not in encoder:
            document = {**document, "config": {**config, "encoder": {**encoder, "thumbnail": 0}}}
        return super().from_config(document, where=where)

    def extra_state(self) -> dict[str, Any]:
        retrieval = {"retrieval_captions": self.retrieval_captions} if self.retrieval is not None else {}
        return {"vocabulary": self._vocab().to_dict(), **retrieval}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.vocab = Tokenizer.from_dict(extra["vocabulary"])
        if len(self.vocab) != self.config.decoder.vocab_size:
            raise UserError(f"caption vocabulary has {len(self.vocab)} tokens, the model expects "
                            f"{self.config.decoder.vocab_size}")
        if self.retrieval is not None:  # the table's captions; its thumbnails come with the weights
            captions = extra.get("retrieval_captions")
            if not isinstance(captions, list) or not captions or not all(isinstance(c, str) for c in captions):
                raise UserError(f"neighbours={self.config.neighbours} needs retrieval_captions, a list of the "
                                f"training captions")
            self.retrieval_captions = captions
            self.retrieval.captions = self._retrieval_ids()
            self.retrieval.keys = self.retrieval.keys.new_zeros(len(captions), self.retrieval.keys.shape[1])
