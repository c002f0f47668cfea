"""Seq2Seq with its default settings (network and TRAINING_DEFAULTS) learns a character task whose targets are
5-10 times longer than their sources, and writes whole outputs (the derived length cap lets them end).

The default-suite test is the smoke size: 8 source letters, sources of 2-4, within a budget of optimizer steps
(the one setting changed). The slow test is the size of the acceptance: 20,000 pairs of 3-7 letters out of 26.
"""

import string

import pytest

from rnnkit.data.pairs import pair_collate
from rnnkit.datasets.expansion import split_expansion_pairs
from rnnkit.tasks.models.seq2seq import TRAINING_DEFAULTS, Seq2Seq
from rnnkit.train import TrainConfig, Trainer


def learn(train, validation, test, **budget):
    """Train a default Seq2Seq on ``train`` (early stopping on ``validation``); greedy exact match on ``test``,
    after checking that the length cap cut no output that was on its way to the reference."""
    sources, targets = [s for s, _ in train], [t for _, t in train]
    model = Seq2Seq.for_data(sources, targets)
    config = TrainConfig(**{**TRAINING_DEFAULTS, **budget}, progress="none", device="cpu")
    Trainer(model, config).fit(model.dataset(sources, targets), model.dataset(*zip(*validation)),
                               collate_fn=pair_collate)
    outputs, details = model.translate([s for s, _ in test], return_details=True)
    cut = [(o, t) for o, (_, t), d in zip(outputs, test, details) if d["capped"]]
    # a cut output ran past its reference (a model that did not stop), never short of it
    assert all(len(o) > len(t) for o, t in cut) and len(cut) <= 0.01 * len(test), cut[:3]
    return sum(o == t for o, t in zip(outputs, [t for _, t in test])) / len(test)


def test_default_settings_learn_a_length_expanding_task_in_a_smoke_budget():
    letters = string.ascii_lowercase[:8]
    train, validation, test = split_expansion_pairs(2000, 200, 200, seed=5, alphabet=letters,
                                                    source_lengths=(2, 4))
    assert all(5 * len(s) <= len(t) <= 10 * len(s) for s, t in train)
    accuracy = learn(train, validation, test, max_steps=300)
    assert accuracy >= 0.9, f"exact match {accuracy:.3f} < 0.9"


@pytest.mark.slow
def test_default_settings_learn_20000_expanding_pairs():
    train, validation, test = split_expansion_pairs(18_000, 2_000, 1_000, seed=6)
    accuracy = learn(train, validation, test)
    assert accuracy >= 0.9, f"exact match {accuracy:.3f} < 0.9"
