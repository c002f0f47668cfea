"""The classification selection: candidates scored on stratified folds of the training data only (a validation
split for large tables), the ensemble chosen on the out-of-fold probabilities and refitted on all of it, the
folder."""

import dataclasses
import json

import numpy as np
import pytest

from rnnkit.data.splits import stratified_folds
from rnnkit.errors import UserError
from rnnkit.eval.reports.document import Report
from rnnkit.eval.reports.selection import add_selection_section
from rnnkit.pipelines import fit as fit_module
from rnnkit.pipelines.select import Budget
from rnnkit.pipelines.select import classify as selection
from rnnkit.pipelines.select.classify import CV_FOLDS, CV_NUMERIC_STAGES, STAGES, AutoClassifier

NUMERIC_TRIALS = 1 + sum(len(values) - 1 for _, values in CV_NUMERIC_STAGES)  # a numeric table's candidates (3)


def sequences(n=48, seed=0):
    """Class "up" rises, class "down" falls: an RNN separates them after a few epochs."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        label = "up" if i % 2 else "down"
        steps = np.linspace(0, 1, rng.integers(6, 12))[:, None]
        X.append((steps if label == "up" else -steps) + 0.1 * rng.normal(size=steps.shape))
        y.append(label)
    return X, y


def test_folds_are_stratified_and_partition_the_rows():
    y = ["a"] * 30 + ["b"] * 12 + ["c"] * 7 + ["d"]
    folds = stratified_folds(y, 5, seed=3)
    held = np.concatenate([h for _, h in folds])
    assert sorted(held.tolist()) == list(range(len(y)))  # every row held out exactly once
    for train, h in folds:
        assert not set(train) & set(h) and len(train) + len(h) == len(y) and len(h) == 10
        counts = {label: sum(y[i] == label for i in h) for label in "abc"}
        assert counts["a"] == 6 and 2 <= counts["b"] <= 3 and 1 <= counts["c"] <= 2
    assert [len(h) for _, h in stratified_folds(y, 3)] == [17, 17, 16]
    assert not np.array_equal(stratified_folds(y, 5, seed=4)[0][1], folds[0][1])
    with pytest.raises(UserError, match="at least 2 folds"):
        stratified_folds(y, 1)


def spy_on_fits(monkeypatch):
    """The (fit, held) sizes of every fit the selection makes."""
    seen, real = [], fit_module.fit_sequence_model

    def spy(model, X_fit, y_fit, **options):
        seen.append((len(X_fit), len(options.get("X_val") or [])))
        return real(model, X_fit, y_fit, **options)

    monkeypatch.setattr("rnnkit.pipelines.select.classify.fit_sequence_model", spy)
    return seen


def test_a_small_table_is_cross_validated_and_the_test_data_never_seen(monkeypatch, tmp_path):
    X, y = sequences()
    X_test, y_test = sequences(16, seed=1)
    seen = spy_on_fits(monkeypatch)
    auto = AutoClassifier(progress="none", train={"max_epochs": 4, "patience": None}).fit(X, y)
    trials = NUMERIC_TRIALS  # GRU, GRU behind FCN's front-end, LSTM behind the better one
    assert [row["conv_layers"] for row in auto.table[:2]] == [1, 3] and auto.table[2]["cell"] == "lstm"
    assert len(auto.table) == trials and all(row["status"] == "ok" for row in auto.table)
    folds, k = [(len(train), len(held)) for train, held in stratified_folds(y, CV_FOLDS)], CV_FOLDS
    assert seen[:k * trials] == folds * trials  # stratified folds of the 48 training sequences, nothing else
    refits = seen[k * trials:]
    assert refits == [(48, 0)] * auto.summary["members"]  # the refits: all the training data
    assert auto.summary["folds"] == k and auto.summary["validation_sequences"] == 48
    assert all(len(row["fold_losses"]) == k and row["score"] == pytest.approx(np.mean(row["fold_losses"]), abs=1e-5)
               for row in auto.table)
    assert auto.summary["chosen"] == min(auto.table, key=lambda row: row["score"])["candidate"]
    losses = [row["oof_loss"] for row in auto.summary["ensembles"]]  # the best alone, the top 2, the top 3
    assert len(losses) == trials and auto.summary["ensemble"][0] == auto.summary["chosen"]
    assert len(auto.summary["ensemble"]) == 1 + losses.index(min(losses))
    assert auto.summary["members"] == auto.summary["seeds"] * len(auto.summary["ensemble"])
    accuracy = np.mean(np.asarray(auto.predict(X_test)) == np.asarray(y_test))
    assert accuracy >= 0.9
    auto.save(tmp_path / "auto")
    assert np.allclose(AutoClassifier.load(tmp_path / "auto").predict_proba(X_test), auto.predict_proba(X_test))


def test_a_large_table_is_scored_on_the_validation_share(monkeypatch):
    """Above ``CV_MAX_SEQUENCES`` (lowered here) nothing changes: one split, the seeds of the best."""
    monkeypatch.setattr(selection, "CV_MAX_SEQUENCES", 40)
    X, y = sequences()
    seen = spy_on_fits(monkeypatch)
    auto = AutoClassifier(progress="none", train={"max_epochs": 4, "patience": None}).fit(X, y)
    trials = 1 + sum(len(values) - 1 for _, values in STAGES)  # no FCN front-end: as before
    assert seen[:trials] == [(38, 10)] * trials and seen[trials:] == [(48, 0)] * auto.summary["seeds"]
    assert auto.summary["folds"] == 1 and auto.summary["ensemble"] == [auto.summary["chosen"]]
    assert "ensembles" not in auto.summary and "fold_losses" not in auto.table[0]


def test_folds_too_slow_for_the_budget_fall_back_to_the_validation_share(monkeypatch):
    monkeypatch.setattr(selection, "CV_MIN_EPOCHS", 10**6)  # no fold affords it: the first fold is trained again
    X, y = sequences(30)
    seen = spy_on_fits(monkeypatch)
    auto = AutoClassifier(Budget(0.001), progress="none", train={"max_epochs": 3, "patience": None}).fit(X, y)
    assert seen[:2] == [(24, 6), (24, 6)] and auto.summary["folds"] == 1 and auto.summary["seeds"] == 1


def test_an_ensemble_of_architectures_saves_and_loads_and_old_folders_still_load(monkeypatch, tmp_path):
    """The top candidates' members (different encoders) round trip; a folder written before the ensembles (no
    "ensemble" in its summary) loads as the seeds of one."""
    monkeypatch.setattr(selection.OutOfFold, "ensembles", lambda self, options: [
        {"ensemble": name, "members": len(members), "oof_loss": float(i < len(options) - 1), "oof_accuracy": 1.0}
        for i, (name, members) in enumerate(options.items())])  # all the candidates averaged always win
    X, y = sequences(30)
    auto = AutoClassifier(progress="none", train={"max_epochs": 2, "patience": None}).fit(X, y)
    assert len(auto.summary["ensemble"]) == NUMERIC_TRIALS and "top 3 candidates averaged" in auto.summary["why"]
    encoders = {json.dumps(member.config.encoder.__dict__, default=str) for member in auto.members}
    assert len(encoders) == NUMERIC_TRIALS and len(auto.members) == NUMERIC_TRIALS * auto.summary["seeds"]
    auto.save(tmp_path / "auto")
    loaded = AutoClassifier.load(tmp_path / "auto")
    assert np.allclose(loaded.predict_proba(X), auto.predict_proba(X))
    assert loaded.summary["ensemble"] == auto.summary["ensemble"]
    report = add_selection_section(Report("x"), auto.summary, auto.table, scored_on=auto.summary["scored_on"])
    report.write(tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert f"{CV_FOLDS}-fold stratified cross-validation" in html and "fold_losses" in html
    assert "compared on the out-of-fold probabilities" in html and "top 3 candidates averaged" in html
    document = json.loads((tmp_path / "auto" / "auto.json").read_text())
    old = {key: document["summary"][key] for key in ("chosen", "settings", "validation_loss", "epochs", "seeds")}
    (tmp_path / "auto" / "auto.json").write_text(json.dumps({**document, "members": 1, "summary": old}))
    assert np.allclose(AutoClassifier.load(tmp_path / "auto").predict_proba(X), auto.members[0].predict_proba(X))


def test_long_refits_take_the_epochs_the_budget_left_affords_for_three_members():
    fast, slow = (selection.Trial("x", {}, result={"sequences_per_s": speed}) for speed in (200.0, 100.0))
    assert selection.CV_REFIT_MEMBERS == 3
    # one candidate: 3 rounds; an epoch of 100 sequences takes 0.5 s -> 60 s afford 40 epochs each
    assert selection._long_refit_epochs([fast], 100, 60.0, most=100) == 40
    assert selection._long_refit_epochs([fast], 100, 600.0, most=100) == 100  # never above max_epochs
    # two candidates: 2 rounds of both; an epoch of each takes 0.5 + 1 s -> 60 s afford 20 epochs
    assert selection._long_refit_epochs([fast, slow], 100, 60.0, most=100) == 20
    assert selection._long_refit_epochs([fast], 100, 0.0, most=100) == 0


def test_refits_under_cross_validation_train_longer_with_a_cosine_schedule(monkeypatch):
    configs, real = [], fit_module.fit_sequence_model

    def spy(model, X_fit, y_fit, **options):  # the folds stop at 2 epochs, as if their time ran out
        held, config = len(options.get("X_val") or []), options["train_config"]
        configs.append((held, config))
        if held:
            options["train_config"] = dataclasses.replace(config, max_epochs=2)
        return real(model, X_fit, y_fit, **options)

    monkeypatch.setattr("rnnkit.pipelines.select.classify.fit_sequence_model", spy)
    monkeypatch.setattr(selection, "CV_MAX_SEEDS", 2)
    monkeypatch.setattr(selection, "CV_MIN_EPOCHS", 2)  # 2 epochs still cross-validate
    X, y = sequences(30)
    auto = AutoClassifier(progress="none", train={"max_epochs": 6, "patience": None}).fit(X, y)
    assert auto.summary["folds"] == CV_FOLDS
    refits = [config for held, config in configs if held == 0]
    assert all(config.schedule == "cosine" for held, config in configs if held)  # the folds are annealed
    assert auto.summary["epochs"] <= 2
    assert refits and all(c.max_epochs == 6 and c.schedule == "cosine" and c.max_steps is None for c in refits)
    assert auto.summary["refit_epochs"] == [6] * len(auto.summary["ensemble"])


def test_the_refit_rounds_go_on_while_the_budget_allows_up_to_max_seeds(monkeypatch):
    """A budget of minutes on a small table: every round of seeds up to ``CV_MAX_SEEDS`` (lowered here) is
    refitted."""
    monkeypatch.setattr(selection, "CV_MAX_SEEDS", 7)
    X, y = sequences(30)
    seen = spy_on_fits(monkeypatch)
    auto = AutoClassifier(progress="none", train={"max_epochs": 1, "patience": None}).fit(X, y)
    assert auto.summary["seeds"] == 7 and seen.count((30, 0)) == len(auto.members) == 7 * len(auto.summary["ensemble"])


def test_numeric_sequences_get_their_dropout_under_cross_validation_and_texts_theirs():
    auto, settings = AutoClassifier(), dict(selection.START)
    X, y = sequences(8)
    texts = ["a good day", "a bad day", "good good", "bad bad"] * 2
    for cross_validated in (True, False):
        dropout = auto._model(settings, X, y, 0, cross_validated).config.encoder.rnn.dropout
        assert dropout == (selection.CV_NUMERIC_DROPOUT if cross_validated else 0.0)  # large tables: unchanged
        assert auto._model(settings, texts, y, 0, cross_validated).config.encoder.rnn.dropout == selection.TEXT_DROPOUT


def test_a_budget_for_one_candidate_still_gives_a_model():
    X, y = sequences(24)
    ticks = iter(range(10**6))
    auto = AutoClassifier(Budget(6, clock=lambda: next(ticks)), progress="none", train={"max_epochs": 1}).fit(X, y)
    statuses = [row["status"] for row in auto.table]
    assert statuses[0] == "ok" and "skipped: budget" in statuses and auto.summary["seeds"] >= 1
    with pytest.raises(UserError, match="not fitted yet"):
        AutoClassifier().predict(X)


def test_each_candidate_trains_for_at_most_its_share_of_the_budget():
    """On data whose early-stopped epochs would take minutes, a 4-second budget ends in seconds with a model."""
    import time

    X, y = sequences(3000)
    started = time.monotonic()
    auto = AutoClassifier("4s", progress="none", train={"max_epochs": 1000, "patience": None}).fit(X, y)
    assert time.monotonic() - started < 20  # unbounded, the first candidate alone trains 1000 epochs
    first = auto.table[0]
    assert first["status"] == "ok" and first["seconds"] < 4
    assert auto.summary["seeds"] >= 1
