"""End-to-end runs not yet moved to ``rnnkit.pipelines`` (seq2seq, caption, recognize, generate).

Pipelines (the driver and the task recipes) are in ``rnnkit.pipelines``, adapters to other libraries' APIs in
``rnnkit.adapters``.
"""
