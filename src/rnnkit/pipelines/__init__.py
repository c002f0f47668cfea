"""Pipelines: from the user's files to a trained run folder, one driver for every task.

- ``driver``: ``train(recipe, settings, out, resume=, force=)``: the run folder, reading, the split, seeding,
  building, fitting (checkpoints in the run folder), the model folder, history, metrics and report, once for every
  task; ``Recipe`` is what a task brings to it;
- ``run_folder``: what a run may write into (the marker, ``--force``, ``--resume``, leftover temporaries);
- a recipe per task, each with its settings dataclass (the ``train`` command's flags) and its predict or eval
  functions: ``classify``, ``forecast``, ``generate``, ``seq2seq``, ``caption``, ``recognize``;
- ``forecaster``: ``rnnkit.Forecaster``; ``fit``: fitting a sequence model or a language model in one call.

A recipe module::

    @dataclass
    class ClassifySettings:                          # the fields with a "help" are the command's flags
        data: str = field(metadata={"help": "training table", "positional": True})
        ...
        model: SequenceClassifierConfig = field(default_factory=...)      # the task's config, nested
        train: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=30, ...))

    RECIPE = Recipe(command="classify train", read=read, split=stratified_split, build=build, score=score,
                    summary=summary)

Only this layer, the adapters, the CLI and the package root import ``rnnkit.train`` together with the tasks.
"""
