"""The task models, one file per task; each imports the shared pieces (``rnnkit.tasks.base``, ``vocabulary``,
``encoder_decoder``, ``blocks``, ``decoding``) and never another task."""
