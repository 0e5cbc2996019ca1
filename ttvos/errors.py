"""The one exception type for mistakes a user can make (bad files, options, configs)."""


class UserError(ValueError):
    """Raised by the core with a one-line message; the CLI prints it and exits non-zero."""
