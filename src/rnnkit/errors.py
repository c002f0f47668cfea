"""Errors that are the user's to fix, and warnings about results the user should know of.

Everything raised as a ``UserError`` is caught by the CLI, printed as one line and turned into exit code 2.
The message must name the problem: the file, the column, the line, the value.
"""


class UserError(ValueError):
    """A mistake in the user's input (file, column, option value): reported without a traceback."""


class ModelFileError(UserError):
    """A model folder or checkpoint that is missing, malformed, truncated or tampered with."""


class ResultWarning(UserWarning):
    """Something about the results the user must know (the CLI prints it as one line ``rnnkit: warning: ...``)."""


class OutputCappedWarning(ResultWarning):
    """Some decoded outputs reached their length limit: they may be cut short."""
