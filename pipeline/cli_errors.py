"""How every `sovereign` command reports an error: one line, no traceback unless --debug. Its own module so that
the command modules (cli, packs.cli, pull_cli, release.cli) share it without importing each other."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One-line errors, no traceback unless --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            if debug:
                raise
            from sovereign.pipeline.errors import SovereignError
            from sovereign.pipeline.runinfo import printable

            if isinstance(exc, SovereignError | LookupError | FileNotFoundError):
                # messages can quote paths and URLs: no control characters reach the terminal
                raise click.ClickException(printable(str(exc)[:2000])) from None
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: "
                f"{printable(str(exc).splitlines()[0][:300]) if str(exc) else ''} (run with --debug for the traceback)"
            ) from None

    return wrapper
