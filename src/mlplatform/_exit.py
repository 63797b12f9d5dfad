"""Exit statuses and the one error printer of every command and entrypoint.

``mlp`` (every group), ``python -m mlplatform`` and the model server's container entrypoint
(``python -m mlplatform.serving``) exit with these statuses, like ``grep`` and ``diff``:

====  ==========================================================================================
0     success (a check found nothing)
1     a check found something: ``mlp drift check`` / ``monitor`` found drift, ``mlp status``
      found a service that is not running
2     an error: our errors (``mlplatform.errors``: headline and hint, no traceback unless
      ``--verbose``), bad usage (unknown flag, missing argument), and bugs (any other
      exception, printed with its traceback)
130   interrupted (Ctrl-C)
====  ==========================================================================================

Scripts gate on ``$? -eq 1`` for "found"; anything above 1 means the answer is unknown.
"""

from __future__ import annotations

import sys
import traceback
from enum import IntEnum
from typing import TextIO

from mlplatform.errors import MlplatformError

__all__ = ["ExitCode", "print_error"]


class ExitCode(IntEnum):
    """The exit statuses of every command (the table above)."""

    OK = 0
    FOUND = 1
    ERROR = 2
    INTERRUPTED = 130


_BUG_HINT = (
    "This is a bug in mlplatform: please report it with the traceback above and the command "
    "you ran."
)


def print_error(exc: BaseException, *, verbose: bool = False, file: TextIO | None = None) -> int:
    """Print ``exc`` the one way every command does and return the exit status for it.

    Our errors print ``error: HEADLINE``, ``hint: HINT`` and their details; with ``verbose``
    also a failed step's own traceback and the Python traceback. Anything else is a bug and
    always prints its traceback first.
    """
    from rich.console import Console
    from rich.text import Text

    console = Console(file=file or sys.stderr, highlight=False, soft_wrap=True)
    if isinstance(exc, MlplatformError):
        headline, hint, details = exc.headline, exc.hint, exc.details
        show_traceback = verbose
    else:
        headline, hint, details = f"{type(exc).__name__}: {exc}", _BUG_HINT, ""
        show_traceback = True
    if show_traceback:
        step_traceback = getattr(exc, "traceback", "")
        if isinstance(step_traceback, str) and step_traceback:
            console.print(step_traceback, markup=False)
        console.print("".join(traceback.format_exception(exc)).rstrip(), markup=False)
    console.print(Text.assemble(("error:", "bold red"), " ", headline))
    console.print(Text.assemble(("hint:", "yellow"), " ", hint))
    if details:
        console.print(details, markup=False)
    return ExitCode.ERROR
