"""The classification selection: candidates scored on a validation split of the training data only, the seed
ensemble refitted on all of it, the folder."""

import numpy as np
import pytest

from rnnkit.errors import UserError
from rnnkit.pipelines import fit as fit_module
from rnnkit.pipelines.select import Budget
from rnnkit.pipelines.select.classify import STAGES, AutoClassifier


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


def test_candidates_see_the_training_data_only_and_the_ensemble_is_refitted_on_all(monkeypatch, tmp_path):
    X, y = sequences()
    X_test, y_test = sequences(16, seed=1)
    seen = []
    real = fit_module.fit_sequence_model

    def spy(model, X_fit, y_fit, **options):
        seen.append((len(X_fit), len(options.get("X_val") or [])))
        return real(model, X_fit, y_fit, **options)

    monkeypatch.setattr("rnnkit.pipelines.select.classify.fit_sequence_model", spy)
    auto = AutoClassifier(progress="none", train={"max_epochs": 4, "patience": None}).fit(X, y)
    trials = 1 + sum(len(values) - 1 for _, values in STAGES)
    assert len(auto.table) == trials and all(row["status"] == "ok" for row in auto.table)
    assert seen[:trials] == [(38, 10)] * trials  # 20% held out, stratified; the test data never passed
    assert seen[trials:] == [(48, 0)] * auto.summary["seeds"]  # the refits: all the training data
    assert auto.summary["chosen"] == min(auto.table, key=lambda row: row["score"])["candidate"]
    accuracy = np.mean(np.asarray(auto.predict(X_test)) == np.asarray(y_test))
    assert accuracy >= 0.9
    auto.save(tmp_path / "auto")
    assert np.allclose(AutoClassifier.load(tmp_path / "auto").predict_proba(X_test), auto.predict_proba(X_test))


def test_a_budget_for_one_candidate_still_gives_a_model():
    X, y = sequences(24)
    ticks = iter(range(10**6))
    auto = AutoClassifier(Budget(12, clock=lambda: next(ticks)), progress="none", train={"max_epochs": 1}).fit(X, y)
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
