"""``NgramClassifier``: TF-IDF over hashed word and character n-grams with a multinomial logistic regression, the
strong linear baseline of text classification; ``AutoClassifier`` weighs it against, and mixes it with, the
recurrent classifier on the validation share.

    x(text) = [ l2( (1 + ln tf(g)) idf(g) : g word n-gram ) ; l2( (1 + ln tf(g)) idf(g) : g char n-gram ) ]
              word n-grams: 1-2 of the lowercased words (words of 2+ word characters);
              char n-grams: 2-5 inside each lowercased word padded with one space on each side
              each n-gram g counts in column crc32(kind + g) mod buckets;  idf(g) = ln((1 + N) / (1 + df(g))) + 1,
              0 for n-grams in fewer than min_df training texts
    p_lr(class | text) = softmax(W x + b),   W, b = argmin  mean_i -ln p(y_i | text_i) + ||W||^2 / (2 C N)

which is scikit-learn's ``TfidfVectorizer(sublinear_tf=True, min_df=2)`` (word 1-2 grams and ``analyzer="char_wb"`` 2-5
grams, side by side) and ``LogisticRegression(C=C)``, fitted here by L-BFGS in PyTorch on the sparse matrix;
the hashing (as ``HashingVectorizer``) keeps the model a fixed size with no vocabulary to store. Beside it, a
second head with a naive-Bayes prior (NB-LR, Wang & Manning 2012, multinomial): each class's weights are scaled by
its log-count ratio, so that n-grams that tell a class apart are cheap to use and the others are held near zero,

    r_c(g) = ln[(1 + n_c(g)) / sum_g'(1 + n_c(g'))] - ln[(1 + n_not c(g)) / sum_g'(1 + n_not c(g'))]
             n_c(g): training texts of class c that hold g
    p_nb(class | text) = softmax((V * R) x + b'),   V, b' = argmin  mean_i -ln p_nb(y_i | text_i) + ||V||^2 / (2 C' N)
    p(class | text) = (p_lr + p_nb) / 2

(tweets, mean accuracy on three development splits: 0.7661 for the plain head alone, 0.7679 beside a second plain
head of C = 4, 0.7708 beside the NB head at C' = 2; bench/classify_tweets_ngrams.py). Saved as safetensors
(``weight``, ``bias``: one row per head; ``idf``) beside a JSON config and the labels: nothing runs on load.
"""

from __future__ import annotations

import json
import re
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from rnnkit import _fs
from rnnkit.errors import UserError
from rnnkit.tasks.base import label_scalar

WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern
KINDS = ("word", "char")
CHUNK = 20_000  # texts hashed at a time


@dataclass(frozen=True)
class NgramConfig:
    buckets: int = 2 ** 20  # tweets: 2^18 buckets cost 0.4 points of validation accuracy in collisions
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2  # n-grams in fewer training texts are dropped (their idf set to 0): rare ones are noise
    C: float = 1.0  # inverse L2 strength, as scikit-learn's LogisticRegression (default 1.0)
    max_iter: int = 60  # L-BFGS iterations (tweets: validation accuracy the same as at 100, in 3/4 of the time)
    naive_bayes_C: float | None = 2.0  # C' of the NB-prior head (None: the plain head alone); 1: 0.7692, 4: 0.7711


def buckets_for(classes: int) -> int:
    """2^20 columns, fewer for more than 4 classes: each head's weights stay at most 4M numbers (16 MB)."""
    return max(2 ** 12, min(NgramConfig.buckets, 1 << ((2 ** 22 // max(classes, 1)).bit_length() - 1)))


def ngrams(text: str, config: NgramConfig) -> dict[str, list[str]]:
    """The word and character n-grams of ``text``, by kind."""
    low, high = config.word_ngrams
    words = WORD.findall(text.lower())
    word_grams = [" ".join(words[i:i + n]) for n in range(low, high + 1) for i in range(len(words) - n + 1)]
    low, high = config.char_ngrams
    char_grams = []
    for word in text.lower().split():
        padded = f" {word} "
        char_grams += [padded[i:i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]
    return {"word": word_grams, "char": char_grams}


def hashed_counts(texts: Sequence[str], config: NgramConfig) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per kind: (rows, columns, counts) of the distinct (text, bucket) pairs, counted CHUNK texts at a time (the
    Python lists of a chunk's keys are the memory this takes)."""
    parts: dict[str, list[tuple[np.ndarray, ...]]] = {kind: [] for kind in KINDS}
    bucket_of: dict[str, int] = {}  # each distinct n-gram hashed once (most recur)
    for first in range(0, len(texts), CHUNK):
        keys: dict[str, list[int]] = {kind: [] for kind in KINDS}
        for row, text in enumerate(texts[first:first + CHUNK], start=first):
            start = row * config.buckets
            for kind, grams in ngrams(text, config).items():
                for gram in grams:
                    name = f"{kind}:{gram}"
                    bucket = bucket_of.get(name)
                    if bucket is None:
                        bucket = bucket_of[name] = zlib.crc32(name.encode()) % config.buckets
                    keys[kind].append(start + bucket)
        if len(bucket_of) > 4 * CHUNK * 100:  # a cache, not a vocabulary: bounded
            bucket_of.clear()
        for kind in KINDS:
            unique, count = np.unique(np.asarray(keys[kind], dtype=np.int64), return_counts=True)
            parts[kind].append((unique // config.buckets, unique % config.buckets, count))
    empty = (np.zeros(0, np.int64),) * 3
    return {kind: tuple(np.concatenate(column) for column in zip(*(parts[kind] or [empty]))) for kind in KINDS}


def _csr(row: np.ndarray, column: np.ndarray, value: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """A sparse CSR matrix from (row, column, value) triplets (duplicates summed)."""
    coo = torch.sparse_coo_tensor(torch.from_numpy(np.stack([row, column])), torch.from_numpy(value).float(),
                                  shape, check_invariants=False).coalesce()
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state": products are all we use
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.to_sparse_csr()


def _transpose(matrix: torch.Tensor) -> torch.Tensor:
    coo = matrix.to_sparse_coo()
    row, column = coo.indices().numpy()
    return _csr(column, row, coo.values().numpy(), (matrix.shape[1], matrix.shape[0]))


def naive_bayes_ratios(transposed: torch.Tensor, target: torch.Tensor, classes: int) -> torch.Tensor:
    """R, (buckets, classes): r_c(g) of the module's equations from the (buckets, texts) feature matrix; n_c(g)
    counts texts in which g has a nonzero feature."""
    present = torch.sparse_csr_tensor(transposed.crow_indices(), transposed.col_indices(),
                                      (transposed.values() != 0).float(), transposed.shape, check_invariants=False)
    in_class = present @ F.one_hot(target, classes).float()  # n_c(g)
    elsewhere = in_class.sum(1, keepdim=True) - in_class  # n_not c(g)
    p, q = 1 + in_class, 1 + elsewhere
    return torch.log(p / p.sum(0)) - torch.log(q / q.sum(0))


def fit_logistic(features: torch.Tensor, transposed: torch.Tensor, target: torch.Tensor, classes: int, C: float,
                 iterations: int, *, scale: torch.Tensor | None = None,
                 start: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """V, b of a multinomial logistic regression whose weights are ``W = V * scale`` (scale 1: the plain head), by
    L-BFGS on the penalised mean cross-entropy with the gradient written out (sparse products in CSR, about 15x
    faster than autograd's COO path here):

        loss = mean_i -ln softmax(X W + b)_{i, y_i} + ||V||^2 / (2 C N)
        dV = (X^T (P - Y) / N) * scale + V / (C N),   db = sum_i (P - Y)_i / N
    """
    buckets = features.shape[1]
    weight = start[0].clone() if start else torch.zeros(buckets, classes)
    bias = start[1].clone() if start else torch.zeros(classes)
    one_hot = F.one_hot(target, classes).float()
    penalty = 1.0 / (2 * C * len(target))
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, tolerance_grad=1e-6,
                                  tolerance_change=1e-10, history_size=20, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        logits = features @ (weight if scale is None else weight * scale) + bias
        loss = F.cross_entropy(logits, target) + penalty * weight.pow(2).sum()
        residual = (torch.softmax(logits, dim=-1) - one_hot) / len(target)
        gradient = transposed @ residual
        weight.grad = (gradient if scale is None else gradient * scale) + 2 * penalty * weight
        bias.grad = residual.sum(0)
        return loss

    optimizer.step(objective)
    return weight, bias


class NgramClassifier:
    def __init__(self, config: NgramConfig, labels: list[Any]) -> None:
        self.config, self.labels = config, list(labels)
        self.idf = {kind: torch.ones(config.buckets) for kind in KINDS}
        heads = 1 if config.naive_bayes_C is None else 2
        self.weight = torch.zeros(heads, config.buckets, len(labels))  # the plain head, then the NB head's V * R
        self.bias = torch.zeros(heads, len(labels))
        self.nb_scale_free: torch.Tensor | None = None  # the NB head's V (kept after fit for a warm-started refit)

    @classmethod
    def fit(cls, texts: Sequence[str], targets: Sequence[Any], config: NgramConfig | None = None, *,
            start: NgramClassifier | None = None) -> NgramClassifier:
        """Fitted on ``texts`` and their labels (the classes: ``sorted(set(targets))``). ``start``: a model of
        the same classes and config whose weights L-BFGS starts from (a refit on more of the same data then
        converges in a fraction of the iterations)."""
        targets = [label_scalar(label) for label in targets]
        labels = sorted(set(targets))
        if len(labels) < 2:
            raise UserError(f"the n-gram classifier needs at least 2 classes, got {labels}")
        config = config or NgramConfig(buckets=buckets_for(len(labels)))
        model = cls(config, labels)
        counts = hashed_counts(texts, config)
        for kind, (_, columns, _) in counts.items():  # document frequency: each (text, bucket) pair once
            df = np.bincount(columns, minlength=config.buckets)
            idf = np.log((1 + len(texts)) / (1 + df)) + 1
            model.idf[kind] = torch.from_numpy(np.where(df >= config.min_df, idf, 0.0)).float()
        features = model._features(counts, len(texts))
        index = {label: i for i, label in enumerate(labels)}
        target = torch.tensor([index[label] for label in targets])
        warm = start is not None and start.labels == labels and start.config == config
        iterations = config.max_iter // 2 if warm else config.max_iter  # a warm start begins near the optimum
        transposed = _transpose(features)
        weight, bias = fit_logistic(features, transposed, target, len(labels), config.C, iterations,
                                    start=(start.weight[0], start.bias[0]) if warm else None)
        weights, biases = [weight], [bias]
        if config.naive_bayes_C is not None:
            scale = naive_bayes_ratios(transposed, target, len(labels))
            free, bias = fit_logistic(features, transposed, target, len(labels), config.naive_bayes_C, iterations,
                                      scale=scale, start=(start.nb_scale_free, start.bias[1])
                                      if warm and start.nb_scale_free is not None else None)
            weights.append(free * scale)
            biases.append(bias)
            model.nb_scale_free = free
        model.weight, model.bias = torch.stack(weights), torch.stack(biases)
        return model

    def _features(self, counts: dict, rows: int) -> torch.Tensor:
        """The (rows, buckets) sparse TF-IDF matrix: each kind's block L2-normalised per row, then added."""
        parts = []
        for kind, (row, column, count) in counts.items():
            value = (1 + np.log(count)) * self.idf[kind].numpy()[column]
            norm = np.sqrt(np.bincount(row, weights=value ** 2, minlength=rows))
            parts.append((row, column, value / np.where(norm > 0, norm, 1.0)[row]))
        row, column, value = (np.concatenate(p) for p in zip(*parts))
        return _csr(row, column, value, (rows, self.config.buckets))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, classes) probabilities, classes in the order of ``labels``."""
        features = self._features(hashed_counts(texts, self.config), len(texts))
        with torch.no_grad():
            heads = [torch.softmax((features @ weight + bias).double(), dim=-1) for weight, bias in
                     zip(self.weight, self.bias)]
            return torch.stack(heads).mean(0).numpy()

    def predict(self, texts: Sequence[str]) -> list[Any]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {"weight": self.weight, "bias": self.bias, **{f"idf.{k}": v for k, v in self.idf.items()}}
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "ngrams.safetensors"))
        document = {"config": asdict(self.config), "labels": self.labels}
        _fs.atomic_write(folder / "ngrams.json", json.dumps(document, indent=1).encode("utf-8"))

    @classmethod
    def load(cls, folder: str | Path) -> NgramClassifier:
        folder = Path(folder)
        document = json.loads((folder / "ngrams.json").read_text(encoding="utf-8"))
        config = document["config"]
        config = NgramConfig(**{"naive_bayes_C": None,  # folders saved before the NB head have the plain one
                                **config, "word_ngrams": tuple(config["word_ngrams"]),
                                "char_ngrams": tuple(config["char_ngrams"])})
        model = cls(config, document["labels"])
        tensors = load_file(str(folder / "ngrams.safetensors"))
        expected = model.weight.shape
        model.weight, model.bias = tensors["weight"], tensors["bias"]
        if model.weight.dim() == 2:  # saved before the weights had a row per head
            model.weight, model.bias = model.weight[None], model.bias[None]
        model.idf = {kind: tensors[f"idf.{kind}"] for kind in KINDS}
        if model.weight.shape != expected:
            raise UserError(f"{folder}: n-gram weights of shape {tuple(model.weight.shape)} do not match "
                            f"{config.buckets} buckets, {len(model.labels)} labels and {expected[0]} head(s)")
        return model
