"""Sequence classification, regression and tagging: data handling, the encoder, learning, saving, metrics."""

import numpy as np
import pandas as pd
import pytest
import torch

import rnnkit
from rnnkit.data.sequences import (IGNORE_INDEX, Preprocessor, from_long, from_numpy, from_wide, pad_collate,
                                   read_sequences)
from rnnkit.data.text import PAD, UNK, Tokenizer
from rnnkit.errors import UserError
from rnnkit.eval.classification_metrics import classification_metrics
from rnnkit.eval.saliency import step_importance
from rnnkit.data.splits import validation_split
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit.nn import RecurrentConfig
from rnnkit.nn.padding import valid_mask
from rnnkit.tasks.blocks.encoder import EncoderConfig, MaskedBatchNorm, SequenceEncoder
from rnnkit.tasks.models.classification import (SequenceClassifier, SequenceClassifierConfig, SequenceRegressor,
                                                SequenceRegressorConfig)
from rnnkit.tasks.models.tagging import SequenceTagger, SequenceTaggerConfig
from rnnkit.train import TrainConfig



GRU_8 = RecurrentConfig(cell="gru", hidden_size=8)


def quick(**options):
    return TrainConfig(**{"max_epochs": 30, "batch_size": 16, "lr": 1e-2, "progress": "none", **options})


# --- text ------------------------------------------------------------------------------------------------------

def test_tokenizer_vocabulary_from_training_texts_only():
    tokenizer = Tokenizer.fit(["Good car!", "bad car", "good good"], level="word", min_count=2)
    assert tokenizer.tokens == ["<pad>", "<unk>", "good", "car"]  # by count, "bad" and "!" are rare
    assert tokenizer.encode("GOOD bike car") == [2, UNK, 3]
    assert tokenizer.encode("") == [UNK]  # never an empty sequence
    chars = Tokenizer.fit(["abca"], level="char", max_length=3)
    assert chars.tokens[:3] == ["<pad>", "<unk>", "a"] and chars.encode("abcz") == [2, 3, 4]
    assert Tokenizer.from_dict(tokenizer.to_dict()) == tokenizer
    assert Tokenizer.fit(["#ai @bob don't"]).split("#AI @bob don't") == ["#ai", "@bob", "don't"]
    with pytest.raises(UserError, match="level"):
        Tokenizer(level="byte")


# --- numeric sequences -----------------------------------------------------------------------------------------

def test_readers_wide_long_numpy_agree():
    wide = pd.DataFrame({"label": ["a", "b"], "t0": [1.0, 4.0], "t1": [2.0, 5.0], "t2": [3.0, np.nan]})
    X, y, _ = read_sequences(wide, label="label")
    assert y == ["a", "b"] and [x.shape for x in X] == [(3, 1), (2, 1)]  # trailing NaN: a shorter sequence
    long = pd.DataFrame({"id": [7, 7, 3, 7, 3], "t": [2, 0, 1, 1, 0], "v": [3.0, 1.0, 5.0, 2.0, 4.0],
                         "label": ["a", "a", "b", "a", "b"]})
    X_long, y_long, ids = read_sequences(long, label="label", id="id", time="t")
    assert ids == [7, 3] and y_long == ["a", "b"]
    for a, b in zip(X, X_long):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(from_numpy(np.zeros((2, 5, 3)))[0], np.zeros((5, 3)))
    with pytest.raises(UserError, match="row 0"):
        from_wide(np.array([[1.0, np.nan, 2.0]]))
    with pytest.raises(UserError, match="two rows"):
        from_long(long.assign(t=0), id="id", time="t", features=["v"])
    with pytest.raises(UserError, match="more than one 'label'"):
        read_sequences(long.assign(label=["a", "b", "b", "a", "b"]), label="label", id="id", time="t")


def test_preprocessor_scales_with_training_statistics_and_round_trips():
    train = [np.array([[0.0, 10.0], [2.0, 10.0]]), np.array([[4.0, 10.0]])]
    pre = Preprocessor.fit(train)
    assert pre.mean == pytest.approx([2.0, 10.0]) and pre.std[1] == 1.0  # a constant feature is not divided by 0
    out = Preprocessor.from_dict(pre.to_dict()).transform([np.array([[2.0, 11.0]])])[0]
    np.testing.assert_allclose(out, [[0.0, 1.0]])
    with pytest.raises(UserError, match="3 features"):
        pre.transform([np.zeros((2, 3))])


def test_pad_collate_per_sequence_and_per_step_targets():
    x, lengths, y = pad_collate([(np.ones((2, 1), np.float32), 1), (np.ones((3, 1), np.float32), 0)])
    assert x.shape == (2, 3, 1) and lengths.tolist() == [2, 3] and y.tolist() == [1, 0] and x[0, 2, 0] == 0
    x, _, y = pad_collate([(np.array([5, 6]), np.array([1, 2])), (np.array([7]), np.array([0]))])
    assert x.tolist() == [[5, 6], [7, PAD]] and y.tolist() == [[1, 2], [0, IGNORE_INDEX]]


# --- the encoder ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("front", [{}, {"conv_channels": 4, "conv_kernel": 3},
                                   {"conv_channels": 4, "conv_kernel": 3, "conv_layers": 3, "conv_norm": True}])
def test_padding_never_changes_a_sequence_result(pooling, front):
    rnn = RecurrentConfig(cell="gru", hidden_size=5, bidirectional=True)
    encoder = SequenceEncoder(EncoderConfig(input_size=3, rnn=rnn, pooling=pooling, **front)).eval()
    short, long = torch.randn(1, 4, 3), torch.randn(1, 9, 3)
    alone, _ = encoder(short, torch.tensor([4]))
    batch = torch.cat([torch.cat([short, torch.zeros(1, 5, 3)], 1), long])
    together, weights = encoder(batch, torch.tensor([4, 9]))
    torch.testing.assert_close(together[:1], alone, atol=1e-6, rtol=1e-5)
    if pooling == "attention":
        assert weights[0, 4:].abs().max() == 0 and torch.allclose(weights.sum(1), torch.ones(2))


def test_the_front_end_batch_norm_counts_the_sequences_own_steps_only():
    norm = MaskedBatchNorm(3)  # training: this batch's statistics, from its valid steps
    x, lengths = torch.randn(2, 6, 3), torch.tensor([6, 2])
    mask = valid_mask(lengths, 6)
    out = norm(x, mask)
    valid = torch.cat([x[0], x[1, :2]])  # (8, 3)
    expected = (valid - valid.mean(0)) / torch.sqrt(valid.var(0, unbiased=False) + norm.eps)
    torch.testing.assert_close(torch.cat([out[0], out[1, :2]]), expected, atol=1e-5, rtol=1e-5)
    assert out[1, 2:].abs().max() == 0
    torch.testing.assert_close(norm.running_mean, 0.1 * valid.mean(0))


def test_a_deep_front_end_keeps_the_one_convolution_state_dict_and_needs_channels():
    one = SequenceEncoder(EncoderConfig(input_size=3, conv_channels=4, conv_kernel=3))
    deep = SequenceEncoder(EncoderConfig(input_size=3, conv_channels=4, conv_kernel=3, conv_layers=3, conv_norm=True))
    assert set(one.state_dict()) < set(deep.state_dict())  # folders saved before conv_layers still load
    assert {key.split(".")[0] for key in set(deep.state_dict()) - set(one.state_dict())} == {"convs", "conv_norms"}
    for wrong in ({"conv_layers": 2}, {"conv_norm": True}, {"conv_channels": 4, "conv_layers": 0}):
        with pytest.raises(ValueError, match="conv_layers"):
            EncoderConfig(input_size=3, **wrong)


def test_mean_and_last_pooling_equations():
    encoder = SequenceEncoder(EncoderConfig(input_size=2, rnn=RecurrentConfig(hidden_size=3), pooling="mean")).eval()
    x, lengths = torch.randn(2, 5, 2), torch.tensor([5, 2])
    output, h_n = encoder.steps(x, lengths)
    torch.testing.assert_close(encoder(x, lengths)[0][1], output[1, :2].mean(0))
    torch.testing.assert_close(output[1, 1], h_n[0, 1])  # the last state is the output at the sequence's end


# --- learning ------------------------------------------------------------------------------------------------

def _sign_task(count, seed):
    """Class = whether the first step of a variable-length sequence is positive: needs memory over the sequence
    when read by a forward RNN (the label sits at the far end from the final state)."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(rng.integers(5, 15)), 2)).astype(np.float32) for _ in range(count)]
    return X, ["pos" if x[0, 0] > 0 else "neg" for x in X]


@pytest.mark.trained
def test_classifier_learns_saves_and_loads(tmp_path):
    X, y = _sign_task(240, 0)
    X_test, y_test = _sign_task(100, 1)
    rnn = RecurrentConfig(cell="gru", hidden_size=16, bidirectional=True)
    model = SequenceClassifier.for_data(X, y, SequenceClassifierConfig(EncoderConfig(rnn=rnn, pooling="attention")))
    fit_sequence_model(model, X, y, validation_fraction=0.2, train_config=quick(patience=8))
    accuracy = np.mean(np.asarray(model.predict(X_test)) == np.asarray(y_test))
    assert accuracy >= 0.9, accuracy
    rnnkit.save(model, tmp_path / "m")
    loaded = rnnkit.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test), atol=1e-6)
    assert loaded.labels == ["neg", "pos"]
    importance, method = step_importance(loaded, X_test[:4])
    assert method == "attention" and [len(w) for w in importance] == [len(x) for x in X_test[:4]]
    # The label lives in step 0: the attention (and gradient saliency) must put the most weight there on average.
    assert np.mean([w[0] for w in importance]) > np.mean([w[1:].mean() for w in importance])
    gradient, _ = step_importance(loaded, X_test[:20], method="gradient")
    assert np.mean([g[0] for g in gradient]) > 2 * np.mean([g[1:].mean() for g in gradient])


def test_text_classifier_with_conv_front_end(tmp_path):
    rng = np.random.default_rng(0)
    words = ["car", "road", "drive", "city", "wheel", "fast"]

    def make(count):
        texts, labels = [], []
        for _ in range(count):
            body = list(rng.choice(words, size=int(rng.integers(3, 8))))
            label = str(rng.choice(["negative", "neutral", "positive"]))
            cue = {"negative": "awful", "positive": "great", "neutral": None}[label]
            if cue:
                body.insert(int(rng.integers(0, len(body))), cue)
            texts.append(" ".join(body))
            labels.append(label)
        return texts, labels

    X, y = make(300)
    X_test, y_test = make(100)
    encoder = EncoderConfig(embedding_dim=16, conv_channels=8, conv_kernel=3, pooling="max",
                            rnn=RecurrentConfig(cell="gru", hidden_size=16))
    model = SequenceClassifier.for_data(X, y, SequenceClassifierConfig(encoder), tokenizer={"level": "word"})
    fit_sequence_model(model, X, y, train_config=quick(max_epochs=12))
    assert np.mean(np.asarray(model.predict(X_test)) == np.asarray(y_test)) >= 0.95
    assert model.predict(["unseenword awful"]) == ["negative"]  # unknown words map to <unk>
    with pytest.raises(UserError, match="reads text"):
        model.predict([np.zeros((3, 1))])
    with pytest.raises(UserError, match="not among the training labels"):
        model.dataset(X[:1], ["other"])


def test_fit_sequence_model_resumed_equals_one_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(3, 8)), 1)).astype(np.float32) for _ in range(64)]
    y = [float(x.sum()) for x in X]

    def run(folder, epochs):
        torch.manual_seed(0)
        model = SequenceRegressor.for_data(X, y, SequenceRegressorConfig(EncoderConfig(rnn=GRU_8)))
        result = fit_sequence_model(model, X, y, train_config=quick(max_epochs=epochs, checkpoint_dir=str(folder)),
                                    resume=True)  # nothing to resume in a new folder: starts afresh
        return model, result

    whole, _ = run(tmp_path / "whole", 3)
    run(tmp_path / "parts", 1)
    resumed, result = run(tmp_path / "parts", 3)
    assert [record["epoch"] for record in result.history] == [1, 2, 3]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_regressor_learns_the_mean_in_original_units():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(3, 10)), 1)).astype(np.float32) for _ in range(400)]
    y = [100.0 + 10.0 * float(x.mean()) for x in X]
    config = SequenceRegressorConfig(EncoderConfig(rnn=RecurrentConfig(cell="gru", hidden_size=16), pooling="mean"))
    model = SequenceRegressor.for_data(X, y, config)
    fit_sequence_model(model, X, y, train_config=quick(max_epochs=25))
    predicted = model.predict(X[:100])
    assert np.abs(predicted - np.asarray(y[:100])).mean() < 0.8  # targets have std ~4.5 around 100


@pytest.mark.trained
def test_tagger_labels_every_step():
    rng = np.random.default_rng(0)
    # Tag = whether the running sum so far is positive: needs the state, not just the current input.
    X = [rng.normal(size=(int(rng.integers(4, 12)), 1)).astype(np.float32) for _ in range(300)]
    y = [["up" if s > 0 else "down" for s in np.cumsum(x[:, 0])] for x in X]
    config = SequenceTaggerConfig(EncoderConfig(rnn=RecurrentConfig(cell="gru", hidden_size=16)))
    model = SequenceTagger.for_data(X, y, config, scale=False)
    fit_sequence_model(model, X, y, train_config=quick(max_epochs=25))
    predicted = model.predict(X[:50])
    assert [len(p) for p in predicted] == [len(x) for x in X[:50]]
    accuracy = np.mean([a == b for p, t in zip(predicted, y[:50]) for a, b in zip(p, t)])
    assert accuracy >= 0.9, accuracy
    with pytest.raises(UserError, match="2 tags"):
        model.dataset([X[0][:3]], [["up", "down"]])


def test_validation_split_is_stratified_and_disjoint():
    y = ["a"] * 80 + ["b"] * 20
    train, held = validation_split(y, 0.25, seed=3)
    assert len(set(train) & set(held)) == 0 and len(train) + len(held) == 100
    assert sum(y[i] == "b" for i in held) == 5 and sum(y[i] == "a" for i in held) == 20


# --- metrics ---------------------------------------------------------------------------------------------------

def test_metrics_agree_with_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true = list(rng.choice(["x", "y", "z"], 200))
    y_pred = [t if rng.random() < 0.7 else str(rng.choice(["x", "y", "z"])) for t in y_true]
    ours = classification_metrics(y_true, y_pred)
    assert ours["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))
    assert ours["macro_f1"] == pytest.approx(sklearn_metrics.f1_score(y_true, y_pred, average="macro"))
    np.testing.assert_array_equal(ours["confusion_matrix"], sklearn_metrics.confusion_matrix(y_true, y_pred))
    precision, recall, f1, support = sklearn_metrics.precision_recall_fscore_support(y_true, y_pred)
    for row, p, r, f, s in zip(ours["per_class"], precision, recall, f1, support):
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx((p, r, f, s))
    never_predicted = classification_metrics(["a", "b"], ["a", "a"])
    assert never_predicted["macro_f1"] == pytest.approx(
        sklearn_metrics.f1_score(["a", "b"], ["a", "a"], average="macro", zero_division=0))
