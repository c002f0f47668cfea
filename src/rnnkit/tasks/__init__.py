"""Task models: each is an encoder + head + loss over the shared core, saved in the one model-folder format.

    models/    one file per task: classification (classifier, regressor), tagging, recognition, forecasting,
               language_model, seq2seq, captioning
    blocks/    what the models are built from: the sequence encoder, the attention decoder, the image encoder
    decoding/  greedy decoding and beam search, CTC decoding, sampling
    base.py (TaskModel, SequenceModel), vocabulary.py, encoder_decoder.py: shared pieces no task owns

No task model imports another. ``TASKS`` maps the ``task`` name written in a model folder's ``config.json`` to its
class; ``rnnkit.load`` looks it up there. A new task adds one line.
"""

from rnnkit.tasks.base import SequenceModel, TaskModel
from rnnkit.tasks.blocks.decoder import AttentionDecoderConfig
from rnnkit.tasks.blocks.encoder import EncoderConfig
from rnnkit.tasks.blocks.image_encoder import ImageEncoderConfig
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner
from rnnkit.tasks.models.classification import (SequenceClassifier, SequenceClassifierConfig, SequenceRegressor,
                                                SequenceRegressorConfig)
from rnnkit.tasks.models.forecasting import ForecastConfig, ForecastModel, ForecastNetworkConfig
from rnnkit.tasks.models.language_model import LanguageModel, LanguageModelConfig
from rnnkit.tasks.models.recognition import SequenceRecognizer, SequenceRecognizerConfig
from rnnkit.tasks.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.tasks.models.tagging import SequenceTagger, SequenceTaggerConfig
from rnnkit.tasks.vocabulary import VocabularyConfig

TASKS: dict[str, type[TaskModel]] = {
    model.task: model for model in (SequenceClassifier, SequenceRegressor, SequenceTagger, SequenceRecognizer,
                                    ForecastModel, LanguageModel, Seq2Seq, ImageCaptioner)
}

__all__ = ["TASKS", "TaskModel", "SequenceModel", "ImageCaptioner", "CaptionerConfig", "SequenceClassifier",
           "SequenceClassifierConfig", "SequenceRegressor", "SequenceRegressorConfig", "SequenceTagger",
           "SequenceTaggerConfig", "SequenceRecognizer", "SequenceRecognizerConfig", "ForecastModel",
           "ForecastConfig", "ForecastNetworkConfig", "LanguageModel", "LanguageModelConfig", "Seq2Seq",
           "Seq2SeqConfig", "EncoderConfig", "AttentionDecoderConfig", "ImageEncoderConfig", "VocabularyConfig"]
