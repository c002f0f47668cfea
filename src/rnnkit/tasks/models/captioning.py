"""Image captioning: ``ImageCaptioner``, a CNN encoder and the attention decoder (Show, Attend and Tell).

    image (B, 3, H, W) --CNN (rnnkit.tasks.blocks.image_encoder)--> grid m_1..m_S (B, S, K), pooled mean (B, K)
    decoder (rnnkit.tasks.blocks.decoder): state_0 = tanh(W mean), attention over the S image regions at every
    word, input feeding; outputs w_1..w_n, </s>
    loss: word cross-entropy, optional label smoothing (rnnkit.tasks.encoder_decoder, shared with Seq2Seq)

The caption vocabulary (words, lower case) is built on the training captions only, with ``<s>`` and ``</s>`` at
ids 2 and 3 (``rnnkit.tasks.vocabulary``), and lives in the model folder. Images are given as the data sets hold them,
channels last: (B, H, W, 3) uint8 (0-255) or float (0-1), or a list of (H, W, 3) arrays.

    model = ImageCaptioner.for_data(train_captions, CaptionerConfig(), images=train_images)
    Trainer(model, TrainConfig(max_epochs=30)).fit(model.dataset(images, captions), collate_fn=caption_collate)
    model.caption(new_images, beam=3)                  # ["grinning face", ...]

Near-duplicates: an image whose nearest training image (16 x 16 thumbnails, as the nearest-image baseline compares
them) is within ``nearest_within`` (root mean square pixel difference, 0-1) is given that image's caption instead of
the decoder's. Emoji come in families drawn alike and named alike ("man raising hand", "woman raising hand"), which
a lookup names better than the decoder; on the others the decoder does better than the lookup. With
``neighbours`` = k the decoder itself also attends to, and can copy, the k nearest training captions
(``rnnkit.tasks.blocks.retrieval``); on held-out emoji that measured no better than the decoder alone (0, the
default). Either needs the training images: ``for_data(captions, config, images=train_images)``.

Ensembles. Captioners trained apart on the same captions (other seeds) caption together, each word from the mean
of their next-word probabilities (``rnnkit.tasks.decoding.beam_search.ensemble_step``), as one model:
``ImageCaptioner.ensemble_of([a, b, c])`` gives ``a`` with ``b`` and ``c`` in ``a.ensemble`` (``members``: 3 in
its config), saved, loaded and used as one model folder (the training images' table stored once).
``model.member(i)`` is member ``i`` alone. The attention and the near-duplicate rule are the first member's.

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
from rnnkit.tasks.decoding.beam_search import beam_search, ensemble_step, greedy_decode
from rnnkit.tasks.decoding.bleu_statistics import bleu_from_statistics, bleu_statistics
from rnnkit.tasks.decoding.limits import length_cap, warn_capped
from rnnkit.tasks.encoder_decoder import EncoderDecoderModel
from rnnkit.tasks.vocabulary import BOS, EOS, build_vocabulary, encode_marked


CAPTION_LIMIT = "the maximum caption length without ending"
NEAREST_WITHIN = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)  # what choose_nearest_within tries


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
    # Twemoji's near-duplicates (a man's and a woman's version of an emoji, arrows, flags) are named alike, which the
    # nearest image's caption gets right more often than the decoder (0.15: chosen on development splits of the
    # README's train.csv, never on its test.csv)
    nearest_within: float = field(default=0.15, metadata={
        "help": "an image whose nearest training image is within this root mean square pixel difference (0-1, "
                "16 x 16 thumbnails) gets that image's caption (0: never)"})
    max_output_length: int = field(default=0, metadata={
        "help": "most words in a caption (</s> counted); 0: 1.5 x the longest training caption + 10"})
    members: int = field(default=1, metadata={
        "help": "captioners in the model that caption together (an ensemble: ImageCaptioner.ensemble_of)"})

    def __post_init__(self) -> None:
        if self.decoder.memory_size and self.decoder.memory_size != self.encoder.output_size:
            raise ValueError(f"decoder.memory_size {self.decoder.memory_size} must equal the encoder's output "
                             f"size {self.encoder.output_size}")
        if not 0 <= self.label_smoothing < 1 or min(self.augment_shift, self.max_output_length, self.neighbours) < 0:
            raise ValueError(f"label_smoothing must be in [0, 1), augment_shift, max_output_length (0: from the "
                             f"training captions) and neighbours >= 0; got {self.label_smoothing}, "
                             f"{self.augment_shift}, {self.max_output_length}, {self.neighbours}")
        if not isinstance(self.members, int) or self.members < 1:
            raise ValueError(f"members must be an integer >= 1, got {self.members!r}")
        if not 0 <= self.nearest_within <= 1:
            raise ValueError(f"nearest_within must be in [0, 1] (0: never), got {self.nearest_within}")
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
                                           channels=config.encoder.in_channels)
                          if config.neighbours or config.nearest_within else None)
        self.vocab: Tokenizer | None = None
        self.retrieval_captions: list[str] = []  # the table's captions (its thumbnails are a buffer)
        # the other members of an ensemble (their vocabulary and table are this model's)
        self.ensemble = torch.nn.ModuleList(ImageCaptioner(dataclasses.replace(config, members=1))
                                            for _ in range(config.members - 1))

    @classmethod
    def for_data(cls, captions: Sequence[str], config: CaptionerConfig | None = None, *, min_count: int = 1,
                 max_vocab: int | None = None, images: Any = None) -> ImageCaptioner:
        """A new model for ``config`` (None: the defaults) whose word vocabulary is built on the training
        ``captions`` (words seen fewer than ``min_count`` times, or beyond ``max_vocab`` ids, are ``<unk>``), and
        whose ``max_output_length``, when 0, leaves room for the longest of them (``length_cap``). With
        ``neighbours`` or ``nearest_within`` (retrieval), the training ``images`` (one per caption) and
        ``captions`` are its table."""
        config = cls.settings(config)
        if config.members != 1:
            raise UserError(f"for_data builds one captioner, not members={config.members}: train them apart and "
                            f"join them with ImageCaptioner.ensemble_of(models)")
        if not captions:
            raise UserError("need at least one training caption")
        if (config.neighbours or config.nearest_within) and (images is None or len(images) != len(captions)):
            raise UserError(f"neighbours={config.neighbours} and nearest_within={config.nearest_within} look up "
                            f"training captions by their images: give for_data the training images, one per caption "
                            f"(or set both to 0)")
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
            model.retrieval.fill(images, model._retrieval_ids())
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
        if not self.config.neighbours:
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
        An ensemble's members decode together (the attention shown is the first member's). An image within
        ``nearest_within`` of a training image gets its caption (``near_duplicates``; details: ``nearest`` True, no
        attention). ``progress``: called ``(images done, images)`` after each batch
        (``rnnkit.train.progress.CountProgress``)."""
        vocab = self._vocab()
        images = images if isinstance(images, (np.ndarray, torch.Tensor)) else np.stack(list(images))
        limit = max_length or self.config.max_output_length or 30
        models = [self, *self.ensemble]
        step = ensemble_step([model.decoder.decoding_step((0, UNK, BOS)) for model in models])
        was_training = self.training
        self.eval()
        captions: list[str] = []
        details: list[dict[str, Any]] = []
        try:
            for start in range(0, len(images), batch_size):
                batch = as_image_batch(images[start:start + batch_size])
                grid = self.config.encoder.grid_shape(*batch.shape[-2:])
                nearest = self.near_duplicates(batch)
                decoded = iter(())  # (tokens, attention, cut) of the images the decoder captions: the others not
                if any(same is None for same in nearest):
                    todo = batch[[i for i, same in enumerate(nearest) if same is None]]
                    memories, states = zip(*(model.encode(todo) for model in models))
                    options = {"bos": BOS, "eos": EOS, "max_length": limit}
                    found = (greedy_decode(step, states, memories, len(todo), **options) if beam <= 1 else
                             beam_search(step, states, memories, len(todo), beam_size=beam, alpha=alpha, **options))
                    decoded = zip(found.tokens, found.extras, found.capped)
                for same in nearest:
                    if same is not None:  # a near-duplicate's caption, not the decoder's
                        words, attention, cut = vocab.split(same), np.zeros((0, *grid), np.float32), False
                    else:
                        tokens, weights, cut = next(decoded)
                        words = vocab.decode(tokens)
                        on_grid = weights[:, :grid[0] * grid[1]]  # the image's positions (retrieved words follow)
                        attention = on_grid.cpu().numpy().reshape(-1, *grid)
                    captions.append(" ".join(words))
                    details.append({"words": words, "attention": attention, "capped": cut,
                                    "nearest": same is not None})
                if progress is not None:
                    progress(min(start + batch_size, len(images)), len(images))
        finally:
            self.train(was_training)
        if return_details or return_attention:
            return captions, details
        warn_capped([d["capped"] for d in details], CAPTION_LIMIT, "max_length (or the model's max_output_length)")
        return captions

    def near_duplicates(self, images: Tensor) -> list[str | None]:
        """For each image (B, 3, H, W), the caption of the nearest training image when it is within
        ``nearest_within`` (root mean square pixel difference of 16 x 16 thumbnails), else None."""
        if not self.config.nearest_within:
            return [None] * len(images)
        index, distance = self.retrieval.nearest(images.to(self.retrieval.keys.device), 1)
        return [self.retrieval_captions[i] if d < self.config.nearest_within else None
                for i, d in zip(index[:, 0].tolist(), distance[:, 0].tolist())]

    def choose_nearest_within(self, images: Any, captions: Sequence[str], *, beam: int = 1,
                              candidates: Sequence[float] = NEAREST_WITHIN,
                              progress: Callable[[int, int], None] | None = None) -> dict[float, float]:
        """Set ``nearest_within`` to the candidate whose captions of ``images`` (decoded with ``beam``) have the
        highest corpus BLEU against ``captions`` (validation images: never the ones reported), the smaller on a
        tie; returns each candidate's BLEU. The images are decoded once. When 0 wins (never) and the decoder does
        not retrieve (``neighbours`` 0), the table is dropped (the model folder keeps none)."""
        if self.retrieval is None:
            raise UserError("choose_nearest_within needs the training images' table: build the model with "
                            "nearest_within > 0 and for_data(..., images=train_images)")
        vocab = self._vocab()
        self.config.nearest_within = 0.0
        found, _ = self.caption(images, beam=beam, progress=progress, return_details=True)  # no warning on cut ones
        decoded = [text.split() for text in found]
        index, distance = self.retrieval.nearest_one(images)
        nearest = [vocab.split(self.retrieval_captions[i]) for i in index.tolist()]
        distance = distance.tolist()
        references = [vocab.split(text) for text in captions]
        scores = {}
        for within in candidates:
            chosen = [near if d < within else own for near, own, d in zip(nearest, decoded, distance)]
            scores[within] = bleu_from_statistics(np.sum([bleu_statistics(r, h) for r, h in zip(references, chosen)],
                                                         axis=0))
        self.config.nearest_within = max(candidates, key=lambda within: (scores[within], -within))
        if not self.config.nearest_within and not self.config.neighbours:  # the table is not used: not kept
            self.retrieval, self.retrieval_captions = None, []
        self._share_table()
        return scores

    # --- ensembles -------------------------------------------------------------------------------------------

    @classmethod
    def ensemble_of(cls, models: Sequence[ImageCaptioner]) -> ImageCaptioner:
        """The first of ``models`` with the others as its ``ensemble`` (``members`` in its config): one model that
        captions with all of them. They must be single captioners of one config and one vocabulary and table,
        i.e. trained on the same captions (other seeds)."""
        if not models:
            raise UserError("an ensemble needs at least one captioner")
        lead, *others = models
        mine = (dataclasses.replace(lead.config, nearest_within=0.0), lead.extra_state())
        for position, other in enumerate(models):
            if not isinstance(other, ImageCaptioner) or other.config.members != 1:
                raise UserError(f"ensemble member {position} is not a single ImageCaptioner")
            if (dataclasses.replace(other.config, nearest_within=0.0), other.extra_state()) != mine:
                raise UserError(f"ensemble member {position} has another config, vocabulary or image table than "
                                f"the first: members must be trained on the same captions with the same settings")
        lead.config = dataclasses.replace(lead.config, members=len(models))
        lead.ensemble = torch.nn.ModuleList(others)
        lead._share_table()
        return lead

    def member(self, index: int) -> ImageCaptioner:
        """Member ``index`` of the ensemble (0: this model's own weights) as a single captioner (a copy)."""
        if not 0 <= index < self.config.members:
            raise UserError(f"member {index}: the model has members 0 to {self.config.members - 1}")
        source = self if index == 0 else self.ensemble[index - 1]
        single = type(self)(dataclasses.replace(self.config, members=1))
        single.load_extra_state(self.extra_state())
        weights = source.state_dict()  # without the ensemble's (and a table the config no longer uses)
        single.load_state_dict({name: weights[name] for name in single.state_dict()})
        return single.train(self.training)

    def _share_table(self) -> None:
        """The members read this model's table of training images (one copy, saved once) and need no vocabulary
        of their own; the near-duplicate rule is this model's."""
        for other in self.ensemble:
            other.vocab, other.config.nearest_within = self.vocab, self.config.nearest_within
            if self.retrieval is None:  # dropped by choose_nearest_within (no member retrieves)
                other.retrieval, other.retrieval_captions = None, []
            elif other.retrieval is not None:
                other.retrieval.keys, other.retrieval.captions = self.retrieval.keys, self.retrieval.captions
                other.retrieval_captions = self.retrieval_captions

    def _apply(self, fn: Callable, recurse: bool = True) -> ImageCaptioner:
        """``Module._apply`` (``to``, ``cpu``, ``float``), the members' table shared again after it."""
        super()._apply(fn, recurse)
        self._share_table()
        return self

    def loss(self, batch: Any) -> Tensor:
        if len(self.ensemble):
            raise UserError(f"an ensemble of {self.config.members} captioners is not trained as one: train each "
                            f"alone and join them with ImageCaptioner.ensemble_of(models)")
        return super().loss(batch)

    # --- model folder ------------------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, document: dict[str, Any], *, where: str = "config.json") -> ImageCaptioner:
        """As ``TaskModel.from_config``; a folder saved before the encoder had ``thumbnail`` has none (0), and one
        saved before ``nearest_within`` never uses it (0), not today's defaults."""
        config = document.get("config")
        encoder = config.get("encoder") if isinstance(config, dict) else None
        if isinstance(encoder, dict) and "thumbnail" not in encoder:
            document = {**document, "config": {**config, "encoder": {**encoder, "thumbnail": 0}}}
            config = document["config"]
        if isinstance(config, dict) and "nearest_within" not in config:
            document = {**document, "config": {**config, "nearest_within": 0.0}}
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
                raise UserError(f"neighbours={self.config.neighbours} and nearest_within="
                                f"{self.config.nearest_within} need retrieval_captions, a list of the training "
                                f"captions")
            self.retrieval_captions = captions
            self.retrieval.captions = self._retrieval_ids()
            self.retrieval.keys = self.retrieval.keys.new_zeros(len(captions), self.retrieval.keys.shape[1])
        self._share_table()
