"""Adapters to other libraries' APIs, each an optional extra: ``rnnkit.integrations.sktime``, ``.sklearn``."""
