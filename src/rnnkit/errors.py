"""Errors that are the user's to fix.

Everything raised as a ``UserError`` is caught by the CLI, printed as one line and turned into exit code 2.
The message must name the problem: the file, the column, the line, the value.
"""


class UserError(ValueError):
    """A mistake in the user's input (file, column, option value): reported without a traceback."""


class ModelFileError(UserError):
    """A model folder or checkpoint that is missing, malformed, truncated or tampered with."""
