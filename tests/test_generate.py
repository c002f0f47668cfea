"""Sampling (temperature, top-k, top-p, seeds, stop strings, batches, streaming, incremental decoding) and the
memory probe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.text_corpus import corpus_tokenizer
from rnnkit.errors import UserError
from rnnkit.eval.memory_probe import MemoryProbe, best_cells, gate_saturation, probe_memory, text_properties
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks.models.language_model import LanguageModel, LanguageModelConfig
from rnnkit.tasks.decoding.sampling import _Sample, sample_next

TEXT = 'ROMEO:\nHe said "go" [Aside] now.\n\nJULIET:\nNo.\n'



def model(cell: str = "lstm") -> LanguageModel:
    torch.manual_seed(0)
    config = LanguageModelConfig(embedding_size=8, streams=2, rnn=RecurrentConfig(cell, 24, num_layers=2))
    return LanguageModel.for_tokenizer(corpus_tokenizer(TEXT), config)


# --- the sampling rule -----------------------------------------------------------------------------------

LOGITS = torch.log(torch.tensor([[1e-9, 1e-9, 0.5, 0.3, 0.15, 0.05]]))  # ids 0, 1: <pad>, <unk>


def draws(**options) -> set[int]:
    generator = torch.Generator().manual_seed(0)
    return set(sample_next(LOGITS.expand(2000, -1), generator=generator, **options).tolist())


def test_temperature_top_k_and_top_p_choose_the_support():
    assert draws() == {2, 3, 4, 5}
    assert draws(temperature=0) == {2}
    assert draws(top_k=2) == {2, 3}
    assert draws(top_p=0.8) == {2, 3}  # 0.5 + 0.3 reaches 0.8
    assert draws(top_p=0.81) == {2, 3, 4}
    assert draws(top_p=0.01) == {2}  # the most likely token always stays


def test_specials_are_never_sampled_even_when_most_likely():
    logits = torch.tensor([[9.0, 9.0, 0.0, 0.0]])
    assert set(sample_next(logits.expand(500, -1)).tolist()) <= {2, 3}
    assert int(sample_next(logits, temperature=0)) in (2, 3)


def test_temperature_sharpens_the_distribution():
    generator = torch.Generator().manual_seed(1)
    cold = sample_next(LOGITS.expand(4000, -1), temperature=0.5, generator=generator)
    hot = sample_next(LOGITS.expand(4000, -1), temperature=2.0, generator=generator)
    # p(top) at T: 0.5^(1/T) / sum p_i^(1/T): 0.69 at T=0.5, 0.37 at T=2
    assert (cold == 2).float().mean() == pytest.approx(0.69, abs=0.03)
    assert (hot == 2).float().mean() == pytest.approx(0.37, abs=0.03)


# --- generation ------------------------------------------------------------------------------------------


def test_seeds_reproduce_samples_and_n_samples_are_batched():
    lm = model()
    first = lm.generate("ROMEO:", 30, n=3, seed=7)
    assert first == lm.generate("ROMEO:", 30, n=3, seed=7) and len(first) == 3
    assert first != lm.generate("ROMEO:", 30, n=3, seed=8)
    assert len(set(first)) == 3  # independent samples
    assert all(len(text) == 30 for text in first)
    assert len(set(lm.generate("ROMEO:", 30, n=3, temperature=0))) == 1


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_incremental_decoding_costs_one_step_per_token_and_matches_full_recomputation(monkeypatch, cell):
    lm = model(cell)
    prompt, length = "He said", 25
    steps = []
    original = lm.step
    monkeypatch.setattr(lm, "step", lambda ids, state: steps.append(ids.shape) or original(ids, state))
    greedy = lm.generate(prompt, length, temperature=0)[0]
    assert len(steps) == length - 1  # the first token comes from the prompt's pass
    ids = lm.encode(prompt)  # the N^2 way: the whole text again for every token
    for _ in range(length):
        logits, _ = lm(ids.unsqueeze(0))
        logits[0, -1, :2] = float("-inf")
        ids = torch.cat([ids, logits[0, -1].argmax().view(1)])
    assert greedy == lm.decode(ids[len(lm.encode(prompt)):])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_equals_the_fused_forward(cell):
    lm = model(cell).eval()
    ids = lm.encode(TEXT[:12]).view(2, 6)
    logits, state = lm(ids)
    step_state = None
    for t in range(6):
        step_logits, step_state = lm.step(ids[:, t], step_state)
        torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-5, atol=1e-5)
    for a, b in zip(step_state if cell == "lstm" else [step_state], state if cell == "lstm" else [state]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_stop_strings_end_samples_and_streaming_holds_back_partial_matches():
    lm = model()
    full = lm.generate("", 200, seed=3)[0]
    stop = full[40:43]
    stopped = lm.generate("", 200, seed=3, stop=[stop, "never-appears"])[0]
    assert stopped == full[:full.find(stop)]
    samples = lm.stream("", 200, seed=3, stop=stop)
    pieces = [p[0] for p in samples]
    assert "".join(pieces) == stopped
    assert len(pieces) <= full.find(stop) + len(stop)  # it stopped drawing once the stop string was complete
    assert samples.capped == [False]  # ended by its stop string
    short = lm.stream("", 30, seed=3, stop=stop)  # 30 characters come before the stop string: cut at the length
    assert "".join(p[0] for p in short) == full[:30] and short.capped == [True]
    free = lm.stream("", 30, seed=3)  # without stop strings the length is the size asked for, not a cap
    assert "".join(p[0] for p in free) == full[:30] and free.capped == [False]


def test_streaming_holds_back_what_may_begin_a_stop_string():
    sample = _Sample()
    assert [sample.add(piece, ["\n\n"], last=False) for piece in ["a\n", "b", "\n", "c\n", "\n", "d"]] == \
        ["a", "\nb", "", "\nc", "", ""]
    assert sample.done and sample.text == "a\nb\nc"
    unfinished = _Sample()
    assert [unfinished.add(piece, ["xyz"], last=last) for piece, last in [("ax", False), ("y", False), ("q", True)]] \
        == ["a", "", "xyq"]


def test_sampling_options_are_checked():
    lm = model()
    for options, message in [({"temperature": -1}, "temperature"), ({"top_k": 0}, "top_k"),
                             ({"top_p": 1.5}, "top_p"), ({"n": 0}, "n >= 1")]:
        with pytest.raises(UserError, match=message):
            lm.generate("R", 5, **options)


def test_word_models_join_words_with_spaces():
    text = "the cat sat on the mat . " * 4
    torch.manual_seed(0)
    config = LanguageModelConfig(embedding_size=8, streams=1, rnn=RecurrentConfig(hidden_size=8))
    lm = LanguageModel.for_tokenizer(corpus_tokenizer(text, level="word"), config)
    sample = lm.generate("the cat", 5, seed=0)[0]
    assert sample.startswith(" ") and len(sample.split()) == 5
    assert set(sample.split()) <= {"the", "cat", "sat", "on", "mat", "."}
    assert "perplexity" in lm.evaluate_text(text)


# --- the memory probe ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_probe_records_what_the_fused_layer_computes(cell):
    lm = model(cell)
    probe = probe_memory(lm, TEXT)
    output, state = lm.rnn(lm.embedding(lm.encode(TEXT).unsqueeze(0)))
    assert probe.cells.shape == (2, len(TEXT), 24)
    if cell == "lstm":  # cells are tanh(c_t); the last layer's final c is the fused final state
        np.testing.assert_allclose(probe.cells[:, -1], torch.tanh(state[1][:, 0]).detach().numpy(), atol=1e-5)
    else:
        np.testing.assert_allclose(probe.cells[-1], output[0].detach().numpy(), atol=1e-5)
    assert sorted(probe.gates) == {"lstm": ["forget", "input", "output"], "gru": ["reset", "update"],
                                   "rnn": []}[cell]
    for gate in probe.gates.values():
        assert gate.shape == (2, len(TEXT), 24) and gate.min() >= 0 and gate.max() <= 1


def test_text_properties_and_the_best_tracking_cell():
    properties = text_properties(TEXT)
    assert properties["inside quotes"][TEXT.index("go")] == 1 and properties["inside quotes"][0] == 0
    single = text_properties("'Tis so. He said 'Let me live,' and o'er he went.")["inside quotes"]
    assert single.sum() == len("'Let me live,'") and single[0] == 0  # an elision is no quote
    assert properties["inside [brackets]"][TEXT.index("Aside")] == 1
    assert properties["position in line"][TEXT.index("JULIET") + 3] == 3
    assert properties["speaker name line"][2] == 1 and properties["speaker name line"][TEXT.index("He")] == 0
    rng = np.random.default_rng(0)
    cells = rng.normal(size=(2, len(TEXT), 5))
    cells[1, :, 3] = -properties["inside quotes"] + 0.01 * rng.normal(size=len(TEXT))  # a planted quote cell
    rows = best_cells(MemoryProbe(TEXT, cells), properties)
    quote = next(row for row in rows if row["property"] == "inside quotes")
    assert (quote["layer"], quote["cell"]) == (1, 3) and quote["correlation"] < -0.99


def test_gate_saturation_counts_nearly_closed_and_open_values():
    forget = np.full((1, 10, 4), 0.5)
    forget[0, :, 0] = 0.95  # a unit always open: remembers
    forget[0, :5, 1] = 0.05  # a unit closed half of the time
    rows = gate_saturation(MemoryProbe("x" * 10, np.zeros((1, 10, 4)), {"forget": forget}))
    assert rows == [{"layer": 0, "gate": "forget", "nearly closed": 5 / 40, "nearly open": 10 / 40,
                     "units mostly closed": 0.0, "units mostly open": 0.25}]
