"""Task models: each is an encoder + head + loss over the shared core, saved in the one model-folder format.

``TASKS`` maps the ``task`` name written in a model folder's ``config.json`` to its class; ``rnnkit.load``
looks it up there. A new task adds one line.
"""

from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.classification import SequenceClassifier, SequenceRegressor
from rnnkit.tasks.forecasting import ForecastModel
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.many_to_one import ManyToOne, ManyToOneConfig
from rnnkit.tasks.tagging import SequenceTagger

TASKS: dict[str, type[TaskModel]] = {
    ManyToOne.task: ManyToOne,
    ForecastModel.task: ForecastModel,
    LanguageModel.task: LanguageModel,
    **{model.task: model for model in (SequenceClassifier, SequenceRegressor, SequenceTagger)},
}

__all__ = ["TASKS", "TaskModel", "ManyToOne", "ManyToOneConfig", "SequenceClassifier", "SequenceRegressor",
           "SequenceTagger", "ForecastModel", "LanguageModel"]
