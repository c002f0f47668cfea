"""Seq2seq outputs and their length cap: the cap comes from the training pairs and covers every training target,
is kept in the model folder and can be set; an output cut at it is reported (details, metrics, report, warning)."""

import dataclasses
import math

import pytest

import rnnkit
from rnnkit.datasets.expansion import expansion_code, make_expansion_pairs, split_expansion_pairs
from rnnkit.errors import OutputCappedWarning
from rnnkit.eval.reports.seq2seq import seq2seq_report
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import AttentionDecoderConfig, EncoderConfig, Seq2SeqConfig, VocabularyConfig
from rnnkit.tasks.models.seq2seq import Seq2Seq


def tiny(**options):
    return Seq2SeqConfig(EncoderConfig(embedding_dim=8, rnn=RecurrentConfig(hidden_size=8, bidirectional=True)),
                         AttentionDecoderConfig(embedding_dim=8, rnn=RecurrentConfig(hidden_size=8)), **options)


def test_expansion_pairs_lengthen_each_character_by_its_code():
    code = expansion_code(code_seed=0)
    assert sorted(code) == list("abcdefghijklmnopqrstuvwxyz") and all(5 <= len(v) <= 10 for v in code.values())
    pairs = make_expansion_pairs(300, seed=1)
    assert all(target == "".join(code[c] for c in source) and 3 <= len(source) <= 7 for source, target in pairs)
    assert all(5 * len(source) <= len(target) <= 10 * len(source) for source, target in pairs)
    train, test = split_expansion_pairs(200, 100, seed=2)
    assert len(train) == 200 and len(test) == 100 and not {s for s, _ in train} & {s for s, _ in test}


@pytest.mark.parametrize("level", ["char", "word"])
def test_the_derived_cap_covers_every_training_target(level):
    pairs = make_expansion_pairs(500, seed=3)
    if level == "word":  # word targets: each character's code is a word, a source character expands to 1
        code = expansion_code(code_seed=0)
        pairs = [(source, " ".join(code[c] for c in source)) for source, _ in pairs]
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    model = Seq2Seq.for_data(sources, targets, tiny(), target_vocabulary=VocabularyConfig(level))
    longest = max(len(model.target_vocab.split(t)) for t in targets)
    ratio = max(len(model.target_vocab.split(t)) / len(s) for s, t in pairs)
    assert model.config.max_output_length == math.ceil(1.5 * longest) + 10
    assert model.config.output_length_ratio == pytest.approx(1.5 * ratio, abs=1e-3)
    for source, target in pairs:  # room for every target and its EOS
        assert model.output_limit(len(model.encode_source(source))) >= len(model.target_vocab.split(target)) + 1
    if level == "char":  # the old rule, 2 * source + 10, cut most of these targets
        assert sum(2 * len(s) + 10 < len(t) + 1 for s, t in pairs) > len(pairs) / 2


def test_the_cap_is_kept_in_the_model_folder_and_can_be_set(tmp_path):
    sources, targets = ["ab", "abc"], ["aabb", "aabbcc"]
    chosen = Seq2Seq.for_data(sources, targets, tiny(max_output_length=7, output_length_ratio=0.5))
    assert (chosen.config.max_output_length, chosen.config.output_length_ratio) == (7, 0.5)
    assert [chosen.output_limit(n) for n in (1, 4, 100)] == [7, 7, 7]  # min(7, ceil(0.5 * n) + 10)
    derived = Seq2Seq.for_data(sources, targets, tiny())
    rnnkit.save(derived, tmp_path / "model")
    loaded = rnnkit.load(tmp_path / "model")
    assert loaded.config == derived.config and loaded.config.max_output_length == 19  # ceil(1.5 * 6) + 10
    # a config without a cap (a model not built by for_data, or saved before the cap was derived): 2 * S + 10,
    # at most 200, as before
    bare = Seq2Seq(dataclasses.replace(derived.config, max_output_length=0, output_length_ratio=0.0))
    assert [bare.output_limit(n) for n in (3, 200)] == [16, 200]
    with pytest.raises(ValueError, match="max_output_length and output_length_ratio must be >= 0"):
        tiny(max_output_length=-1)


def test_an_output_cut_at_the_cap_is_reported():
    sources, targets = ["ab", "ba", "abba"], ["xx yy", "yy xx", "xx yy yy xx"]
    model = Seq2Seq.for_data(sources, targets, tiny())  # untrained: it rarely writes EOS, so outputs run on
    outputs, details = model.translate(sources, max_length=3, return_details=True)
    assert [d["capped"] for d in details] == [len(d["output_tokens"]) == 3 for d in details]
    assert all(d["max_length"] == 3 for d in details) and any(d["capped"] for d in details)
    count = sum(d["capped"] for d in details)
    with pytest.warns(OutputCappedWarning, match=f"{count} of 3 outputs reached the maximum output length"):
        assert model.translate(sources, max_length=3) == outputs
    _, beam_details = model.translate(sources, beam=2, max_length=3, return_details=True)
    assert all(d["capped"] == (len(d["output_tokens"]) == 3) for d in beam_details)

    capped = dataclasses.replace(model.config, max_output_length=2)
    model.config = capped  # every output is cut at 2 tokens unless it ends at once
    metrics, report, outputs = seq2seq_report(model, sources, targets, beam=2)
    _, details = model.translate(sources, beam=2, return_details=True)
    assert metrics["capped"] == sum(len(d["output_tokens"]) == 2 for d in details) > 0
    assert metrics["max_output_length"] == 2
    assert "greedy_capped" in metrics and "copy_capped" not in metrics
    html = report.to_html()
    assert f"Warning: {metrics['capped']} of 3 outputs reached the maximum output length" in html
    assert "--max-output-length" in html
