"""The ``adagroup`` command line: thin subcommands over the public API.

Each subcommand lives in its own module with ``add_parser(subparsers)``; the
parser it adds sets ``func(args) -> int``. Errors that users can fix (bad
input, missing studies) print one line to stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from ..exceptions import AdagroupError, AdagroupWarning

__all__ = ["main", "CLIUsageError", "one_line"]

_SUBCOMMAND_MODULES = ("_cluster", "_select", "_study", "_bench", "_demo")


class CLIUsageError(AdagroupError):
    """The command line was well-formed but asks for something impossible."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    from .. import __version__

    parser = _Parser(prog="adagroup", description="Decide which tasks should be trained together.")
    parser.add_argument("--version", action="version", version=f"adagroup {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    default_format = warnings.formatwarning

    def format_warning(message: Any, category: Any, *rest: Any, **kwargs: Any) -> str:
        # Our warnings speak to the person at the terminal: no source path and line.
        if isinstance(category, type) and issubclass(category, AdagroupWarning):
            return f"adagroup {command}: warning: {message}\n"
        return default_format(message, category, *rest, **kwargs)

    warnings.formatwarning = format_warning
    try:
        return int(args.func(args) or 0)
    except (AdagroupError, ValueError, TypeError, OSError, ImportError) as exc:
        if args.verbose:
            raise
        print(f"adagroup {command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"adagroup {command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = default_format


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, without SQLAlchemy's link to its error docs.

    SQLAlchemy appends "(Background on this error at: https://sqlalche.me/...)" on a
    line of its own; that link explains SQLAlchemy, not what the user should change.
    """
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [line for line in lines if line and not line.startswith("(Background on this error")]
    return " ".join(kept) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
