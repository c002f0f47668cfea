"""``AutoClassifier``: a sequence classifier's encoder chosen, within a wall-time budget, on the training data
alone (stratified k-fold cross-validation for small tables, a validation share for large ones); then an ensemble
refitted on all of it.

    auto = AutoClassifier(budget="3m").fit(X_train, y_train)     # texts or numeric sequences, any labels
    auto.predict(X_test); auto.predict_proba(X_test)              # the ensemble's mean probabilities
    auto.table, auto.summary; auto.save("runs/vowels"); AutoClassifier.load("runs/vowels")

Each candidate is scored by its best validation loss under early stopping (accuracy breaks nothing: it is
reported beside). Up to ``CV_MAX_SEQUENCES`` sequences the score is the mean over ``CV_FOLDS`` stratified
cross-validation folds: a validation share of 54 sequences cannot tell 98.4% from 99% (one sequence is 1.9
points), the 270 held-out predictions of five folds can (5 folds beat 3 on JapaneseVowels' training split, nested:
fewer errors and a lower loss on the held-out part). When the first candidate's first fold shows its part of the
budget too short for ``CV_MIN_EPOCHS`` epochs, the ``validation`` share alone scores every candidate, as on large
tables (where it holds 400 sequences or more).

Numeric tables under cross-validation: three candidates, each trained well, rather than many trained briefly. A
bidirectional 64-unit GRU with mean pooling, the same behind FCN's front-end (``CV_NUMERIC_FRONT_END``), then an
LSTM behind the better front-end. Their folds share ``CV_NUMERIC_SHARE`` of the budget, each fold annealed within
its part (a cosine schedule over the epochs its timed first epoch says fit: ``rnnkit.train.AnnealWithin``), so
that the candidates are ranked as trained models. The ensemble is the best candidate, or the best two or three
averaged, whichever has the lowest out-of-fold loss.

Texts and large tables: coordinate descent from a bidirectional 64-unit GRU with attention pooling over
``STAGES``: the convolutional front-end (none, or 32 channels of width 7), the pooling (last, mean, max,
attention), the cell (GRU, LSTM), the size (64, 128), each stage keeping the best value so far. The folds of all
the candidates planned train for at most ``CV_SHARE`` of the budget, each fold for its part of it (scored where its
time ran out, if it did); without folds each candidate trains for at most ``TRIAL_SHARE`` of the budget (on large
data the epochs its early stopping would take do not fit: the candidate is then scored where its time ran out). A
candidate that would not fit in the budget is skipped. The ensemble, under cross-validation: the best candidate's
seeds, or the top ``ENSEMBLE_TOP`` candidates (different architectures), whichever has the lower out-of-fold loss;
for a fair comparison the best candidate is cross-validated again with as many seeds as there are top candidates,
on the same folds (``select.oof``). Under the validation share alone: the best candidate's seeds.

Each chosen encoder is refitted on all the training data, once per seed for as many rounds of seeds as the budget
left allows (up to ``CV_MAX_SEEDS``, ``MAX_SEEDS`` under the validation share). Under cross-validation with a
cosine schedule over the folds' median best epoch or, where the budget left affords more epochs for
``CV_REFIT_MEMBERS`` members, that many (up to the training's ``max_epochs``); under the validation share for as
many steps as its best epoch took. The members' probabilities are averaged.

For texts, a linear model over word and character n-grams (``NgramClassifier``: TF-IDF with two logistic-regression
heads, plain and naive-Bayes-scaled, fitted on the first fold's fit rows only, the validation share's on large
tables: its 2^20 hashed weights take seconds to fit even on a few texts) is mixed in with the weight among
``NGRAM_WEIGHTS`` whose mixture with the ensemble has the lowest loss on that fold's held rows (0: the recurrent
ensemble alone), then refitted on all the data:

    p(class | text) = (1 - w) mean_members p_rnn(class | text) + w p_ngram(class | text)

Numeric sequences get dropout ``CV_NUMERIC_DROPOUT`` on the recurrent stack's inputs and outputs under
cross-validation (none on large tables, where it was not measured), texts ``TEXT_DROPOUT``. Test data is never
given to ``fit``.

Development on JapaneseVowels' training split alone, nested: the table in ``bench/classify_vowels_dev.py``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit._config import config_from_dict
from rnnkit.errors import UserError
from rnnkit.data.splits import stratified_folds, validation_split
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit.pipelines.select.auto_folder import read_document, refuse_overwrite, write_document
from rnnkit.pipelines.select.budget import Budget
from rnnkit.pipelines.select.oof import OutOfFold, place
from rnnkit.pipelines.select.search import Search, Trial
from rnnkit.tasks.base import label_scalar
from rnnkit.tasks.models.classification import SequenceClassifier, SequenceClassifierConfig
from rnnkit.tasks.models.ngrams import NgramClassifier
from rnnkit.train import AnnealWithin, TimeLimit, TrainConfig, load_model, save_model, seed_everything

DEFAULT_BUDGET = "3m"
MAX_SEEDS = 5  # rounds of refits while the budget lasts, under the validation share alone (large tables)
TRIAL_SHARE = 0.25  # the most of the budget one candidate may train for: the first, the refit and one more fit
FORMAT_VERSION = 1
START = {"cell": "gru", "hidden_size": 64, "pooling": "attention", "conv_channels": 0, "conv_layers": 1}
STAGES = [("front-end", [{"conv_channels": 0, "conv_layers": 1}, {"conv_channels": 32, "conv_layers": 1}]),
          ("pooling", ["last", "mean", "max", "attention"]), ("cell", ["gru", "lstm"]), ("hidden_size", [64, 128])]
CV_NUMERIC_FRONT_END = {"conv_channels": 64, "conv_layers": 3}  # FCN's front-end (Wang et al. 2017): three
# convolutions of width 5, each batch-normalised
CV_NUMERIC_START = {"pooling": "mean"}  # numeric tables under cross-validation: three candidates, trained well (on
# the vowels training split, nested, they beat the eight stages above in the same budget: bench/classify_vowels_dev.py)
CV_NUMERIC_STAGES = [("front-end", [{"conv_channels": 0, "conv_layers": 1}, CV_NUMERIC_FRONT_END]),
                     ("cell", ["gru", "lstm"])]
CV_NUMERIC_SHARE = 0.55  # ... whose folds share this much of the budget, each fold annealed within its part
CV_MAX_SEQUENCES = 2000  # up to: candidates scored by stratified CV_FOLDS-fold cross-validation; above,
# the validation share alone ranks them (400 sequences and more: one moves accuracy by at most a quarter point)
CV_SHARE = 0.5  # texts under cross-validation: every planned candidate's folds together train for at most this
# share of the budget, each fold for its part of it (the rest: the refits, trained longer; 0.75 before them: a
# higher held-out loss on the vowels training split, nested, when the vowels took this path)
CV_MIN_EPOCHS = 10  # ... and cross-validation only when that part affords this many epochs (the first candidate's
# first fold tells); otherwise the validation share alone, as for large tables
CV_FOLDS = 5  # 5 beat 3 on the JapaneseVowels training split, nested: fewer held-out errors, a lower loss
CV_MAX_SEEDS = 20  # ... and under cross-validation (5 left a third of the budget unused when the best candidate's
# seeds were chosen; 20: a lower held-out loss on the vowels training split, nested: bench/classify_vowels_dev.py)
CV_NUMERIC_DROPOUT = 0.25  # numeric sequences under cross-validation: dropout on the recurrent stack's inputs and
# outputs (the vowels training split, nested: fewer held-out errors and a lower loss than none:
# bench/classify_vowels_dev.py)
CV_REFIT_MEMBERS = 3  # under cross-validation the refits train as many epochs as the budget left allows this many
# of them, up to the training's max_epochs, with a cosine schedule (the folds' best epoch is the least: their time
# limit stops them short)
ENSEMBLE_TOP = 3  # the ensemble: the best candidate's seeds, or the top 3 candidates', as the folds say
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


@dataclasses.dataclass
class _Data:
    """The training data of a selection and the folds its candidates are scored on (cross-validation folds, or
    the validation ``share`` alone; the first candidate may fall back to it), each fold of several training for
    at most ``fold_seconds``."""

    X: list
    y: list
    folds: list[tuple[np.ndarray, np.ndarray]]
    share: tuple[np.ndarray, np.ndarray]
    labels: list[Any]
    fold_seconds: float


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
        share = validation_split(y, self.validation, self.seed)
        folds = stratified_folds(y, CV_FOLDS, self.seed) if len(X) <= CV_MAX_SEQUENCES else [share]
        numeric = len(folds) > 1 and not _texts(X)  # few candidates on annealed folds, the top ones averaged
        stages = CV_NUMERIC_STAGES if numeric else STAGES
        planned = 1 + sum(len(values) - 1 for _, values in stages)
        fold_share = CV_NUMERIC_SHARE / planned if numeric else CV_SHARE / (planned + ENSEMBLE_TOP - 1)
        data = _Data(X, y, folds, share, sorted({label_scalar(label) for label in y}),
                     fold_share * budget.seconds / len(folds))
        search = Search(budget, planned=planned, progress=self.progress, what="selection")
        best, tried, partner = dict(START, **(CV_NUMERIC_START if numeric else {})), {}, None
        for key, values in [("start", [None])] + stages:
            for value in values:
                change = value if isinstance(value, dict) else {key: value}  # a front-end sets several
                settings = best if key == "start" else dict(best, **change)
                name = _name(settings)
                if name in tried:
                    continue
                decide = not tried  # the first candidate decides on the folds
                tried[name] = search.run(name, settings, lambda: self._cross_validate(
                    settings, data, train_config, budget, decide, anneal=numeric), estimate=search.seconds())
                if len(tried) == 1:  # keep time for one refit on all the data (both models)
                    partner = (_ngram_partner(data, search)
                               if _texts(X) and len(X) <= NGRAM_MAX_TEXTS else None)
                    refits = tried[name].seconds / len(folds) + (partner["seconds"] if partner else 0.0)
                    fraction = 1 - (self.validation if len(folds) == 1 else 1 / len(folds))  # of X fitted
                    search.reserve = refits / fraction if tried[name].ok else 0.0
            leader = search.best()
            if leader is not None:
                best = dict(leader.settings)
        if search.best() is None:
            raise UserError(f"no candidate could be trained within the budget: {search.trials[0].status}")
        oof = OutOfFold(y, data.labels, np.concatenate([held for _, held in folds]))
        if numeric and len(folds) > 1:  # (the first fold may have sent the table to the validation share)
            chosen, ensembles = _top_averaged(search, oof)
        else:
            chosen, ensembles = self._ensemble(search, data, oof, train_config, budget)
        first = len(folds[0][1])  # the n-gram partner's rows: the first fold's, the first of each candidate's
        probabilities = np.mean([trial.result["probabilities"][:first] for trial in chosen], axis=0)
        mixture = _mix(probabilities, partner, OutOfFold(y, data.labels, folds[0][1])) if partner else {}
        self.ngram_weight = mixture.get("ngram_weight", 0.0)
        self.ngrams = NgramClassifier.fit(X, y, start=partner["model"]) if self.ngram_weight else None
        self._refit(X, y, chosen, budget, train_config, cross_validated=len(folds) > 1)
        for trial in search.trials if len(folds) > 1 else []:  # the candidates' table shows every fold's loss
            if trial.ok:
                trial.details = {"fold_losses": [round(loss, 5) for loss in trial.result["fold_losses"]],
                                 "accuracy": round(trial.result["accuracy"], 5)}
        self.table = search.table()
        self.summary = self._summary(search.best(), chosen, folds, oof, budget, ensembles, mixture)
        mixed = (f"; mixed with n-grams at weight {self.ngram_weight:g} (validation loss "
                 f"{mixture['mixture_validation_loss']:.4g})" if self.ngram_weight else "")
        search.close(f"chosen: {' + '.join(self.summary['ensemble'])} ({self.summary['scored_on']}: loss "
                     f"{self.summary['validation_loss']:.4g}, accuracy {self.summary['validation_accuracy']:.4g})"
                     f"{mixed}; {len(self.members)} member(s) refitted on all {len(X)} sequences in "
                     f"{budget.spent():.0f} s")
        return self

    def _cross_validate(self, settings: dict[str, Any], data: _Data, train_config: TrainConfig, budget: Budget,
                        decide: bool = False, anneal: bool = False) -> tuple[float, dict]:
        """A candidate's mean best validation loss over ``data.folds`` (each fold's model early-stopped on its
        held rows, for at most ``data.fold_seconds``; ``anneal``: a cosine schedule over the epochs that fit in
        that time), with its out-of-fold probabilities. ``decide`` (the first candidate): when its first fold's
        time ran out before ``CV_MIN_EPOCHS`` epochs, the folds are replaced by the validation share for every
        candidate, trained on with a candidate's whole time limit."""
        X, y, folds = data.X, data.y, data.folds
        figures, parts, speeds, k = [], [], [], 0
        while k < len(folds):
            fit_rows, held = folds[k]
            X_fit, y_fit, X_val = [X[i] for i in fit_rows], [y[i] for i in fit_rows], [X[i] for i in held]
            model = self._model(settings, X_fit, y_fit, train_config.seed, cross_validated=len(folds) > 1)
            limit = data.fold_seconds if len(folds) > 1 else budget.seconds * TRIAL_SHARE
            config, callbacks = train_config, [TimeLimit(limit)]
            if anneal and len(folds) > 1:
                config, callbacks = dataclasses.replace(config, schedule="cosine"), [AnnealWithin(limit), *callbacks]
            result = fit_sequence_model(model, X_fit, y_fit, X_val=X_val, y_val=[y[i] for i in held],
                                        train_config=config, callbacks=callbacks)
            if decide and len(folds) > 1 and result.stopped_reason == "callback" and \
                    len(result.history) < min(CV_MIN_EPOCHS, config.max_epochs):
                folds[:] = [data.share]  # cross-validation would not fit: the validation share alone
                continue
            best = result.history[result.best_epoch - 1]
            figures.append((best["val_loss"], best["val_accuracy"], result.best_epoch, best["step"], len(fit_rows)))
            speeds.extend(record["sequences_per_s"] for record in result.history)
            parts.append(place(model.predict_proba(X_val), model.labels, data.labels))
            k += 1
        losses, accuracies, epochs, steps, sizes = (list(column) for column in zip(*figures))
        return float(np.mean(losses)), {
            "accuracy": float(np.mean(accuracies)), "epochs": int(np.ceil(np.median(epochs))),
            "steps": int(np.ceil(np.median(steps))), "sequences": float(np.mean(sizes)), "fold_losses": losses,
            "fold_epochs": epochs, "sequences_per_s": float(np.median(speeds)), "probabilities": np.concatenate(parts)}

    def _ensemble(self, search: Search, data: _Data, oof: OutOfFold, train_config: TrainConfig,
                  budget: Budget) -> tuple[list[Trial], dict[str, Any]]:
        """The candidates the ensemble is made of: the best alone (its seeds), or the best ``ENSEMBLE_TOP``,
        whichever of "the best candidate's mean over as many seeds" and "the top candidates' mean" has the lower
        out-of-fold loss (the best one's other seeds cross-validated on the same folds, when the budget allows).
        Under the validation share alone (large tables): the best, as always."""
        ranked = search.ranked()
        top, best = ranked[:ENSEMBLE_TOP], ranked[0]
        if len(data.folds) == 1 or len(top) < 2:
            return [best], {}
        seeds = [best.result["probabilities"]]
        for k in range(1, len(top)):
            if not budget.allows(best.seconds + search.reserve):
                return [best], {"ensemble_why": f"seeds of the best candidate (no time left to cross-validate its "
                                                f"other seeds against the top {len(top)} candidates)"}
            again = dataclasses.replace(train_config, seed=train_config.seed + k)
            seeds.append(self._cross_validate(best.settings, data, again, budget)[1]["probabilities"])
            search.progress.note(f"{best.name}, seed {again.seed}: cross-validated for the ensemble check")
        tops = [trial.result["probabilities"] for trial in top]
        rows = oof.ensembles({f"{best.name}, {len(top)} seeds": seeds, " + ".join(t.name for t in top): tops})
        mixed = rows[1]["oof_loss"] < rows[0]["oof_loss"]
        why = (f"the top {len(top)} candidates averaged" if mixed else "seeds of the best candidate") + \
            f" (out-of-fold loss {rows[int(mixed)]['oof_loss']:.4g} against {rows[1 - int(mixed)]['oof_loss']:.4g})"
        return (top if mixed else [best]), {"ensembles": rows, "ensemble_why": why}

    def _refit(self, X: list, y: list, chosen: list[Trial], budget: Budget, train_config: TrainConfig,
               cross_validated: bool) -> None:
        """Each chosen encoder on all of ``X, y``, one round of seeds after another while the budget allows (up to
        ``CV_MAX_SEEDS`` after cross-validation, ``MAX_SEEDS`` after the validation share). After cross-validation:
        with a cosine schedule, as the folds trained, over their median best epoch or, where the budget left
        affords more for ``CV_REFIT_MEMBERS`` members (``_long_refit_epochs``), that many. After the validation
        share: for as many passes over the data as its best epoch (its steps scaled to the larger data: a run that
        its time limit stopped mid-epoch is refitted mid-epoch too)."""
        self.members, each = [], None
        epochs = _long_refit_epochs(chosen, len(X), budget.left(), train_config.max_epochs) if cross_validated else 0
        self.refit_epochs = [max(epochs, trial.result["epochs"]) for trial in chosen]
        for k in range(CV_MAX_SEEDS if cross_validated else MAX_SEEDS):
            if k and not budget.allows(each):
                break
            started = budget.spent()
            for trial, refit_epochs in zip(chosen, self.refit_epochs):
                refit = dataclasses.replace(train_config, max_epochs=refit_epochs, patience=None,
                                            monitor="train_loss", restore_best=False, seed=self.seed + k)
                if cross_validated:  # annealed, as the folds were, over the longer of their epochs and the budget's
                    refit = dataclasses.replace(refit, schedule="cosine")
                else:  # the steps the validation share's run took, scaled to the larger data (same batch size)
                    refit = dataclasses.replace(refit, max_steps=math.ceil(
                        trial.result["steps"] * len(X) / trial.result["sequences"]))
                model = self._model(trial.settings, X, y, self.seed + k, cross_validated)
                fit_sequence_model(model, X, y, train_config=refit)
                self.members.append(model.cpu().eval())
            each = budget.spent() - started

    def _summary(self, best: Trial, chosen: list[Trial], folds: list, oof: OutOfFold, budget: Budget,
                 ensembles: dict[str, Any], mixture: dict[str, Any]) -> dict[str, Any]:
        scored_on = (f"{len(folds)}-fold stratified cross-validation of the training data" if len(folds) > 1
                     else "the validation share of the training data")
        why = "; ".join(text for text in (ensembles.pop("ensemble_why", ""), mixture.pop("why", "")) if text)
        return {"chosen": best.name, "ensemble": [trial.name for trial in chosen], "settings": best.settings,
                "validation_loss": best.score, "validation_accuracy": best.result["accuracy"],
                "epochs": best.result["epochs"], "refit_epochs": self.refit_epochs,
                "seeds": len(self.members) // len(chosen),
                "members": len(self.members), "folds": len(folds), "scored_on": scored_on,
                "validation_sequences": len(oof.target), "budget_s": budget.seconds,
                "seconds": round(budget.spent(), 1), **ensembles, **mixture, **({"why": why} if why else {})}

    def _model(self, settings: dict[str, Any], X: list, y: list, seed: int,
               cross_validated: bool) -> SequenceClassifier:
        seed_everything(seed)
        numeric_dropout = CV_NUMERIC_DROPOUT if cross_validated else 0.0
        rnn = {"cell": settings["cell"], "hidden_size": settings["hidden_size"], "bidirectional": True,
               "dropout": TEXT_DROPOUT if _texts(X) else numeric_dropout}
        deep = settings.get("conv_layers", 1) > 1  # (auto.json of older versions: one convolution at most)
        encoder = {"rnn": rnn, "pooling": settings["pooling"], "conv_channels": settings["conv_channels"],
                   "conv_kernel": 5 if deep else 7, "conv_layers": settings.get("conv_layers", 1), "conv_norm": deep}
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


def _ngram_partner(data: _Data, search: Search) -> dict[str, Any]:
    """The n-gram model fitted on the first fold's fit rows (one fit costs seconds even on a few texts: its weights
    span 2^20 hashed n-grams), its probabilities for that fold's held rows."""
    (fit_rows, held), started = data.folds[0], search.budget.spent()
    model = NgramClassifier.fit([data.X[i] for i in fit_rows], [data.y[i] for i in fit_rows])
    probabilities = place(model.predict_proba([data.X[i] for i in held]), model.labels, data.labels)
    accuracy = OutOfFold(data.y, data.labels, held).accuracy(probabilities)
    seconds = search.budget.spent() - started
    search.progress.note(f"n-gram model (TF-IDF + logistic regression, plain and NB heads) on {len(fit_rows)} "
                         f"texts: validation accuracy {accuracy:.4g} in {seconds:.0f} s")
    return {"model": model, "probabilities": probabilities, "seconds": seconds}


def _mix(probabilities: np.ndarray, partner: dict[str, Any], oof: OutOfFold) -> dict[str, Any]:
    """The n-gram weight (of ``NGRAM_WEIGHTS``) whose mixture with the network ensemble's held-out
    ``probabilities`` has the lowest cross-entropy (ties: the smaller weight), with both models' figures and the
    mixture's."""
    figures = {}
    for weight in (*NGRAM_WEIGHTS, 1.0):  # 1.0: the n-gram model alone, for the record
        mixed = (1 - weight) * probabilities + weight * partner["probabilities"]
        figures[weight] = (oof.loss(mixed), oof.accuracy(mixed))
    weight = min(NGRAM_WEIGHTS, key=lambda w: (figures[w][0], w))
    return {"ngram_weight": weight, "ngram_validation_loss": figures[1.0][0],
            "ngram_validation_accuracy": figures[1.0][1],
            "mixture_validation_loss": figures[weight][0], "mixture_validation_accuracy": figures[weight][1],
            "mixtures": [{"ngram_weight": w, "validation_loss": round(loss, 5), "validation_accuracy": round(acc, 5)}
                         for w, (loss, acc) in figures.items()],
            "why": f"the n-gram model mixed in at weight {weight:g} gave the lowest validation loss of the weights "
                   f"{', '.join(f'{w:g}' for w in NGRAM_WEIGHTS)}"}


def _top_averaged(search: Search, oof: OutOfFold) -> tuple[list[Trial], dict[str, Any]]:
    """The best candidates averaged, as many of them (1, 2, ...) as give the lowest out-of-fold loss."""
    ranked = search.ranked()
    options = {" + ".join(t.name for t in ranked[:k]): [t.result["probabilities"] for t in ranked[:k]]
               for k in range(1, len(ranked) + 1)}
    rows = oof.ensembles(options)
    k = min(range(len(rows)), key=lambda i: rows[i]["oof_loss"])  # ties: fewer
    what = "the best candidate alone" if k == 0 else f"the top {k + 1} candidates averaged"
    return ranked[:k + 1], {"ensembles": rows, "ensemble_why": f"{what} (out-of-fold loss {rows[k]['oof_loss']:.4g}; "
                            + ", ".join(f"top {i + 1}: {row['oof_loss']:.4g}" for i, row in enumerate(rows)) + ")"}


def _long_refit_epochs(chosen: list[Trial], count: int, seconds: float, most: int) -> int:
    """Epochs for the refits under cross-validation (cosine schedule): as many as let ``CV_REFIT_MEMBERS``
    members (rounds of the chosen candidates) train on ``count`` sequences in ``seconds`` at the candidates'
    training speed on their folds, up to ``most``."""
    rounds = math.ceil(CV_REFIT_MEMBERS / len(chosen))
    epoch = sum(count / trial.result["sequences_per_s"] for trial in chosen)  # one epoch of each chosen candidate
    return min(most, int(seconds / (rounds * epoch)))


def _texts(X: list) -> bool:
    return bool(X) and isinstance(X[0], str)


def _name(settings: dict[str, Any]) -> str:
    layers = settings.get("conv_layers", 1)
    conv = (f"conv{settings['conv_channels']}" + (f"x{layers} bn" if layers > 1 else "")
            if settings["conv_channels"] else "no conv")
    return f"{settings['cell']} {settings['hidden_size']} {settings['pooling']} {conv}"
