"""The one exception type for mistakes a user can make (bad files, options, configs), and one-line
descriptions of the operating-system errors their environment can cause (disk full, read-only)."""

from __future__ import annotations

import errno


class UserError(ValueError):
    """Raised by the core with a one-line message; the CLI prints it and exits non-zero."""


_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run again (finished work is kept)",
    errno.EDQUOT: "the disk quota is exceeded: free some space and run again (finished work is kept)",
    errno.EACCES: "permission denied: choose another folder or fix its permissions",
    errno.EPERM: "permission denied: choose another folder or fix its permissions",
    errno.EROFS: "the file system is read-only: choose another folder",
    errno.ENOTDIR: "a file is in the way of a folder: choose another folder or move the file",
    errno.EEXIST: "a file is in the way of a folder: choose another folder or move the file",
}


def describe_os_error(error: OSError) -> str:
    """``<file>: <reason>; <what to do>`` on one line (an OSError from the disk, not a bug)."""
    where = f"{error.filename}: " if error.filename else ""
    reason = error.strerror or str(error) or type(error).__name__
    hint = _HINTS.get(error.errno or 0)
    return f"{where}{reason}" + (f"; {hint}" if hint else "")
