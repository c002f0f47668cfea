"""Pipelines: from the user's files to a trained run folder, one driver for every task.

- ``driver``: ``train(recipe, settings, out, resume=, force=)``: run folder, split, seed, build, fit (checkpoints),
  model folder, history, metrics and report, once for every task;
- ``run_folder``: what a run may write into (the marker, ``--force``, ``--resume``, leftover temporaries);
- a recipe per task: ``classify`` (reader, model builder, scoring and report, summary line);
- ``forecaster``: ``rnnkit.Forecaster``; ``fit``: fitting a sequence model on arrays in one call.

Only this layer, the adapters, the CLI and the package root import ``rnnkit.train`` together with the tasks.
"""
