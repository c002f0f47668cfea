"""Task models: each is an encoder + head + loss over the shared core, saved in the one model-folder format.

``TASKS`` maps the ``task`` name written in a model folder's ``config.json`` to its class; ``rnnkit.load``
looks it up there. A new task adds one line.
"""

from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.captioning import ImageCaptioner
from rnnkit.tasks.classification import SequenceClassifier, SequenceRegressor
from rnnkit.tasks.forecasting import ForecastModel
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.many_to_one import ManyToOne, ManyToOneConfig
from rnnkit.tasks.recognition import SequenceRecognizer
from rnnkit.tasks.seq2seq import Seq2Seq
from rnnkit.tasks.tagging import SequenceTagger

TASKS: dict[str, type[TaskModel]] = {
    ManyToOne.task: ManyToOne,
    ImageCaptioner.task: ImageCaptioner,
    ForecastModel.task: ForecastModel,
    LanguageModel.task: LanguageModel,
    Seq2Seq.task: Seq2Seq,
    SequenceRecognizer.task: SequenceRecognizer,
    **{model.task: model for model in (SequenceClassifier, SequenceRegressor, SequenceTagger)},
}

__all__ = ["TASKS", "TaskModel", "ImageCaptioner", "ManyToOne", "ManyToOneConfig", "SequenceClassifier", "SequenceRegressor",
           "SequenceTagger", "ForecastModel", "LanguageModel", "Seq2Seq",
           "SequenceRecognizer"]
