"""``AutoClassifier``: a sequence classifier's encoder chosen, within a wall-time budget, on a validation split of
the training data; then a seed ensemble refitted on all of it.

    auto = AutoClassifier(budget="3m").fit(X_train, y_train)     # texts or numeric sequences, any labels
    auto.predict(X_test); auto.predict_proba(X_test)              # the ensemble's mean probabilities
    auto.table, auto.summary; auto.save("runs/vowels"); AutoClassifier.load("runs/vowels")

The search holds out a stratified ``validation`` share of the training data (seed ``seed``) and scores each
candidate by its best validation loss under early stopping (accuracy breaks nothing: it is reported beside).
Coordinate descent from a bidirectional 64-unit GRU with attention pooling: the convolutional front-end (none, or
32 channels of width 7), the pooling (last, mean, max, attention), the cell (GRU, LSTM), the size (64, 128),
each stage keeping the best value so far; a candidate that would not fit in the budget is skipped, and each
trains for at most ``TRIAL_SHARE`` of the budget (on large data the epochs its early stopping would take do not
fit: the candidate is then scored where its time ran out). The final
model: the best candidate refitted on all the training data (validation rows included) for the epochs its
validation run chose, once per seed for as many seeds as the budget left allows (up to ``MAX_SEEDS``); their
probabilities are averaged. For texts, a linear model over word and character n-grams (``NgramClassifier``:
TF-IDF with two logistic-regression heads, plain and naive-Bayes-scaled, fitted on the same split) is mixed in
with the weight among ``NGRAM_WEIGHTS`` whose mixture has the lowest validation loss (0: the recurrent ensemble
alone), then refitted on all the data:

    p(class | text) = (1 - w) mean_seeds p_rnn(class | text) + w p_ngram(class | text)

Test data is never given to ``fit``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._config import config_from_dict
from rnnkit.errors import UserError
from rnnkit.data.splits import validation_split
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit.pipelines.select.auto_folder import read_document, refuse_overwrite, write_document
from rnnkit.pipelines.select.budget import Budget
from rnnkit.pipelines.select.search import Search, Trial
from rnnkit.tasks.base import label_scalar
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.tasks.models.ngrams import NgramClassifier
from rnnkit.train import TimeLimit, TrainConfig, load_model, save_model, seed_everything

DEFAULT_BUDGET = "3m"
MAX_SEEDS = 5
TRIAL_SHARE = 0.25  # the most of the budget one candidate may train for: the first, the refit and one more fit
FORMAT_VERSION = 1
START = {"cell": "gru", "hidden_size": 64, "pooling": "attention", "conv_channels": 0}
STAGES = [("conv_channels", [0, 32]), ("pooling", ["last", "mean", "max", "attention"]), ("cell", ["gru", "lstm"]),
          ("hidden_size", [64, 128])]
NGRAM_WEIGHTS = (0.0, 0.25, 0.5, 0.75)  # the n-gram model's share of a text classifier's probabilities; the
# recurrent ensemble keeps at least a quarter
NGRAM_MAX_TEXTS = 200_000  # above: no n-gram partner (its sparse matrix would take gigabytes)


TEXT_DROPOUT = 0.4  # texts: a word embedding overfits within two epochs without it (tweets: +0.6 points of
# validation accuracy at the fourth epoch, and still rising where the unregularised model had peaked at the second)
TEXT_MIN_COUNT = 2  # texts: a token seen once in training is <unk>, so that <unk> is learned for the unseen words
# of new texts (tweets, a 6-epoch network: validation loss 0.622 against 0.639 when every word has its own vector;
# the embedding is half the size, so an epoch is faster too)


def training_defaults(count: int) -> TrainConfig:
    """Up to 100 epochs, stopping 15 epochs after the best validation loss; batches of 16 below 1000 sequences,
    64 from 5000 (on a CPU a larger batch makes an epoch of 30k tweets about twice as fast, at the same
    validation accuracy per epoch)."""
    batch_size = 16 if count < 1000 else 32 if count < 5000 else 64
    return TrainConfig(max_epochs=100, patience=15, batch_size=batch_size, lr=3e-3, progress="none")


class AutoClassifier:
    def __init__(self, budget: str | float | Budget = DEFAULT_BUDGET, *, validation: float = 0.2, seed: int = 0,
                 tokenizer: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
                 progress: str = "auto") -> None:
        Budget.parse(budget)  # checked now
        self.budget, self.validation, self.seed, self.progress = budget, validation, seed, progress
        self.tokenizer, self.train = tokenizer, dict(train or {})
        self.members: list[SequenceClassifier] = []
        self.ngrams: NgramClassifier | None = None
        self.ngram_weight = 0.0
        self.table: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}

    def fit(self, X: Any, y: Any) -> AutoClassifier:
        X, y = list(X), list(y)
        budget = Budget.start(self.budget)
        train_config = dataclasses.replace(training_defaults(len(X)), seed=self.seed, **self.train)
        fit_rows, held = validation_split(y, self.validation, self.seed)
        split = ([X[i] for i in fit_rows], [y[i] for i in fit_rows], [X[i] for i in held], [y[i] for i in held])
        search = Search(budget, planned=1 + sum(len(values) - 1 for _, values in STAGES), progress=self.progress,
                        what="selection")
        partner = _ngram_partner(split, search) if _texts(X) and len(X) <= NGRAM_MAX_TEXTS else None
        best, tried = dict(START), {}
        for key, values in [("start", [None])] + STAGES:
            for value in values:
                settings = best if key == "start" else dict(best, **{key: value})
                name = _name(settings)
                if name in tried:
                    continue
                tried[name] = search.run(name, settings, lambda: self._validate(settings, split, train_config, budget),
                                         estimate=search.seconds())
                if len(tried) == 1 and tried[name].ok:  # keep time for one refit on all the data (both models)
                    refits = tried[name].seconds + (partner["seconds"] if partner else 0.0)
                    search.reserve = refits / (1 - self.validation)
            leader = search.best()
            if leader is not None:
                best = dict(leader.settings)
        chosen = search.best()
        if chosen is None:
            raise UserError(f"no candidate could be trained within the budget: {search.trials[0].status}")
        mixture = _mix(chosen, partner, split[3]) if partner else {}
        self.ngram_weight = mixture.get("ngram_weight", 0.0)
        self.ngrams = NgramClassifier.fit(X, y, start=partner["model"]) if self.ngram_weight else None
        self._refit(X, y, chosen, budget, train_config)
        self.table = search.table()
        self.summary = {"chosen": chosen.name, "settings": chosen.settings, "validation_loss": chosen.score,
                        "validation_accuracy": chosen.result["accuracy"], "epochs": chosen.result["epochs"],
                        "seeds": len(self.members), "validation_sequences": len(held),
                        "budget_s": budget.seconds, "seconds": round(budget.spent(), 1), **mixture}
        mixed = (f"; mixed with n-grams at weight {self.ngram_weight:g} (validation loss "
                 f"{mixture['mixture_validation_loss']:.4g})" if self.ngram_weight else "")
        search.close(f"chosen: {chosen.name} (validation loss {chosen.score:.4g}, accuracy "
                     f"{chosen.result['accuracy']:.4g}){mixed}; {len(self.members)} seed(s) refitted on all "
                     f"{len(X)} sequences in {budget.spent():.0f} s")
        return self

    def _validate(self, settings: dict[str, Any], split: tuple, train_config: TrainConfig,
                  budget: Budget) -> tuple[float, dict]:
        X_fit, y_fit, X_val, y_val = split
        model = self._model(settings, X_fit, y_fit, train_config.seed)
        result = fit_sequence_model(model, X_fit, y_fit, X_val=X_val, y_val=y_val, train_config=train_config,
                                    callbacks=[TimeLimit(budget.seconds * TRIAL_SHARE)])
        best = result.history[result.best_epoch - 1]
        return best["val_loss"], {"accuracy": best["val_accuracy"], "epochs": result.best_epoch,
                                  "steps": best["step"], "sequences": len(X_fit),
                                  "labels": model.labels, "probabilities": model.predict_proba(X_val)}

    def _refit(self, X: list, y: list, chosen: Trial, budget: Budget, train_config: TrainConfig) -> None:
        """The chosen encoder on all of ``X, y`` for as many passes over the data as its validation run's best
        epoch had made (its steps scaled to the larger data: a run that its time limit stopped mid-epoch is
        refitted mid-epoch too), seed after seed."""
        steps = math.ceil(chosen.result["steps"] * len(X) / chosen.result["sequences"])  # same batch size
        refit = dataclasses.replace(train_config, max_epochs=chosen.result["epochs"], patience=None,
                                    max_steps=steps, monitor="train_loss",
                                    restore_best=False)
        self.members, each = [], None
        for k in range(MAX_SEEDS):
            if k and not budget.allows(each):
                break
            started = budget.spent()
            model = self._model(chosen.settings, X, y, self.seed + k)
            fit_sequence_model(model, X, y, train_config=dataclasses.replace(refit, seed=self.seed + k))
            self.members.append(model.cpu().eval())
            each = budget.spent() - started

    def _model(self, settings: dict[str, Any], X: list, y: list, seed: int) -> SequenceClassifier:
        seed_everything(seed)
        rnn = {"cell": settings["cell"], "hidden_size": settings["hidden_size"], "bidirectional": True,
               "dropout": TEXT_DROPOUT if _texts(X) else 0.0}
        encoder = {"rnn": rnn, "pooling": settings["pooling"], "conv_channels": settings["conv_channels"],
                   "conv_kernel": 7}
        config = config_from_dict(SequenceClassifierConfig, {"encoder": encoder})
        tokenizer = {"min_count": TEXT_MIN_COUNT, **(self.tokenizer or {})} if _texts(X) else None
        return SequenceClassifier.for_data(X, y, config, tokenizer=tokenizer)

    # --- prediction and the folder -------------------------------------------------------------------------

    @property
    def labels(self) -> list[Any]:
        return self._fitted()[0].labels

    @property
    def metadata(self) -> dict[str, Any]:
        """The members' metadata (the CLI's input columns)."""
        return self._fitted()[0].metadata

    def predict_proba(self, X: Any) -> np.ndarray:
        """(N, classes): the seeds' mean probabilities (mixed with the n-gram model's for texts, when the
        validation share chose it), classes in the order of ``labels``."""
        rnn = np.mean([model.predict_proba(X) for model in self._fitted()], axis=0)
        if self.ngrams is None:
            return rnn
        return (1 - self.ngram_weight) * rnn + self.ngram_weight * self.ngrams.predict_proba(list(X))

    def predict(self, X: Any) -> list[Any]:
        return [self.labels[i] for i in self.predict_proba(X).argmax(axis=1)]

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """``auto.json`` (the table and summary) and one model folder per seed under ``members/``."""
        folder = Path(folder)
        refuse_overwrite(folder, overwrite)
        for k, model in enumerate(self._fitted()):
            save_model(model, folder / "members" / str(k), overwrite=True)
        if self.ngrams is not None:
            self.ngrams.save(folder / "ngrams")
        return write_document(folder, {"format_version": FORMAT_VERSION, "members": len(self.members),
                                       "ngram_weight": self.ngram_weight, "summary": self.summary,
                                       "table": self.table})

    @classmethod
    def load(cls, folder: str | Path) -> AutoClassifier:
        folder = Path(folder)
        _, document = read_document(folder, FORMAT_VERSION, "AutoClassifier")
        self = cls()
        self.members = [load_model(folder / "members" / str(k)) for k in range(document["members"])]
        self.summary, self.table = document["summary"], document["table"]
        self.ngram_weight = float(document.get("ngram_weight", 0.0))
        self.ngrams = NgramClassifier.load(folder / "ngrams") if self.ngram_weight else None
        return self

    def _fitted(self) -> list[SequenceClassifier]:
        if not self.members:
            raise UserError("this AutoClassifier is not fitted yet: call fit(X, y) first")
        return self.members


def _ngram_partner(split: tuple, search: Search) -> dict[str, Any]:
    """The n-gram model fitted on the fit rows: its classes and validation probabilities."""
    X_fit, y_fit, X_val, y_val = split
    started = search.budget.spent()
    model = NgramClassifier.fit(X_fit, y_fit)
    probabilities = model.predict_proba(X_val)
    accuracy = np.mean([model.labels[i] == label_scalar(label) for i, label in zip(probabilities.argmax(1), y_val)])
    seconds = search.budget.spent() - started
    search.progress.note(f"n-gram model (TF-IDF + logistic regression, plain and NB heads) on {len(X_fit)} texts: validation accuracy "
                         f"{accuracy:.4g} in {seconds:.0f} s")
    return {"model": model, "labels": model.labels, "probabilities": probabilities, "seconds": seconds}


def _mix(chosen: Trial, partner: dict[str, Any], y_val: list) -> dict[str, Any]:
    """The n-gram weight (of ``NGRAM_WEIGHTS``) whose mixture with the chosen candidate has the lowest validation
    cross-entropy (ties: the smaller weight), with both models' validation figures and the mixture's."""
    labels = chosen.result["labels"]
    if partner["labels"] != labels:  # both are fitted on the same rows: only a bug would make them differ
        raise RuntimeError(f"n-gram classes {partner['labels']} differ from the network's {labels}")
    index = {label: i for i, label in enumerate(labels)}
    target = np.array([index.get(label_scalar(label), -1) for label in y_val])
    known = target >= 0  # a class the fit rows lack cannot be predicted by either model
    figures = {}
    for weight in (*NGRAM_WEIGHTS, 1.0):  # 1.0: the n-gram model alone, for the record
        mixed = (1 - weight) * chosen.result["probabilities"] + weight * partner["probabilities"]
        chance = np.where(known, mixed[np.arange(len(target)), np.maximum(target, 0)], 0.0)
        figures[weight] = (float(-np.log(np.maximum(chance, 1e-12)).mean()),
                           float((mixed.argmax(axis=1) == target).mean()))
    weight = min(NGRAM_WEIGHTS, key=lambda w: (figures[w][0], w))
    return {"ngram_weight": weight, "ngram_validation_loss": figures[1.0][0],
            "ngram_validation_accuracy": figures[1.0][1],
            "mixture_validation_loss": figures[weight][0], "mixture_validation_accuracy": figures[weight][1],
            "mixtures": [{"ngram_weight": w, "validation_loss": round(loss, 5), "validation_accuracy": round(acc, 5)}
                         for w, (loss, acc) in figures.items()],
            "why": f"the n-gram model mixed in at weight {weight:g} gave the lowest validation loss of the weights "
                   f"{', '.join(f'{w:g}' for w in NGRAM_WEIGHTS)}"}


def _texts(X: list) -> bool:
    return bool(X) and isinstance(X[0], str)


def _name(settings: dict[str, Any]) -> str:
    conv = f"conv{settings['conv_channels']}" if settings["conv_channels"] else "no conv"
    return f"{settings['cell']} {settings['hidden_size']} {settings['pooling']} {conv}"
