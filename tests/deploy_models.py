"""Tiny untrained task models of every kind, for the deployment tests (export, streams, the server)."""

import numpy as np
import torch

from captioning_data import make_shapes
from rnnkit.data.text_corpus import corpus_tokenizer
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks import (AttentionDecoderConfig, CaptionerConfig, EncoderConfig, ForecastConfig, ForecastModel,
                          ForecastNetworkConfig, ImageCaptioner, ImageEncoderConfig, LanguageModel,
                          LanguageModelConfig, Seq2Seq, Seq2SeqConfig, SequenceClassifier, SequenceClassifierConfig,
                          SequenceRecognizer, SequenceRecognizerConfig, SequenceRegressor, SequenceRegressorConfig,
                          SequenceTagger, SequenceTaggerConfig)

TEXT = "the cat sat on the mat. a dog ran to the cat.\n"
WORDS = ["the cat sat", "a dog ran", "on the mat", "the dog sat down", "a cat ran far"]


def numeric(count=12, features=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(rng.integers(3, 9)), features)).astype(np.float32) for _ in range(count)]


def encoder(cell="lstm", **options):
    rnn = RecurrentConfig(cell=cell, hidden_size=options.pop("hidden_size", 8),
                          num_layers=options.pop("num_layers", 1), bidirectional=options.pop("bidirectional", False),
                          layer_norm=options.pop("layer_norm", False))
    return EncoderConfig(rnn=rnn, embedding_dim=6, **options)


def classifier(cell="lstm", text=False, **options):
    torch.manual_seed(0)
    config = SequenceClassifierConfig(encoder(cell, **options))
    if text:
        return SequenceClassifier.for_data(WORDS, ["a", "b", "a", "b", "c"], config, tokenizer={"level": "word"})
    X = numeric()
    return SequenceClassifier.for_data(X, [i % 3 for i in range(len(X))], config)


def regressor(cell="lstm", **options):
    torch.manual_seed(0)
    X = numeric()
    config = SequenceRegressorConfig(encoder(cell, **options))
    return SequenceRegressor.for_data(X, np.arange(len(X), dtype=float), config)


def tagger(cell="lstm", **options):
    torch.manual_seed(0)
    X = numeric()
    return SequenceTagger.for_data(X, [[t % 2 for t in range(len(x))] for x in X],
                                   SequenceTaggerConfig(encoder(cell, **options)))


def recognizer(cell="lstm", **options):
    torch.manual_seed(0)
    X = [np.concatenate([x, x]) for x in numeric()]
    return SequenceRecognizer.for_data(X, ["ab", "ba", "a"] * 4, SequenceRecognizerConfig(encoder(cell, **options)))


def language_model(cell="lstm", num_layers=2):
    torch.manual_seed(0)
    config = LanguageModelConfig(embedding_size=8, streams=2, rnn=RecurrentConfig(cell, 16, num_layers=num_layers))
    return LanguageModel.for_tokenizer(corpus_tokenizer(TEXT), config)


def forecaster(cell="lstm", decoder="direct"):
    torch.manual_seed(0)
    network = ForecastNetworkConfig(rnn=RecurrentConfig(cell, 8), decoder=decoder)
    return ForecastModel(ForecastConfig(input_size=3, future_size=2, num_targets=1, lookback=6, horizon=3,
                                        network=network, level_window=3, season=2))


def seq2seq(cell="lstm", copy=False):
    torch.manual_seed(0)
    decoder = AttentionDecoderConfig(embedding_dim=8, rnn=RecurrentConfig(cell, 8), copy=copy)
    config = Seq2SeqConfig(EncoderConfig(embedding_dim=8, rnn=RecurrentConfig(cell, 8, bidirectional=True)), decoder,
                           max_output_length=12)
    return Seq2Seq.for_data(["cat", "dog", "act"], ["tac", "god", "tca"], config)


def captioner(cell="lstm", neighbours=0, nearest_within=0.0):
    torch.manual_seed(0)
    images, captions = make_shapes(12)
    decoder = AttentionDecoderConfig(embedding_dim=8, rnn=RecurrentConfig(cell, 8))
    encoder = ImageEncoderConfig(channels=(8, 8), norm="group", thumbnail=4)
    config = CaptionerConfig(encoder, decoder, image_size=16, neighbours=neighbours, nearest_within=nearest_within)
    return ImageCaptioner.for_data(captions, config, images=images)


EVERY_TASK = {"classifier": classifier, "regressor": regressor, "tagger": tagger, "recognizer": recognizer,
              "language_model": language_model, "forecaster": forecaster, "seq2seq": seq2seq, "captioner": captioner}
