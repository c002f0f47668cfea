"""The top of the stack: tasks composed with the trainer and reports, end to end (what the CLI runs), and adapters
to other libraries' APIs.

- end to end: ``forecaster`` (``rnnkit.Forecaster``), ``classify``, ``seq2seq``, ``caption``, ``recognize``,
  ``generate``, and ``fit`` (fitting any sequence model on arrays);
- adapters, each an optional extra: ``sktime``, ``sklearn``.

Only this layer, the CLI and the package root import ``rnnkit.train`` together with the tasks: the tasks sit below
the trainer, whose model folders look them up by name.
"""
