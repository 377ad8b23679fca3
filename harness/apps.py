"""Find a WSGI application from a `module:attribute` reference, as `flask --app` does.

load_app("examples.todo_server:app")            # an attribute
load_app("examples.todo_server:create_app()")   # a factory, called without arguments
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError


def load_app(reference: str) -> Any:
    """Import `module:attribute` (or `module:factory()`) from the current directory and return the app.

    Raises:
        ConfigurationError: the reference is malformed, the module cannot be imported, or the
            attribute is missing or not a WSGI callable; the message names the fix.
    """
    module_name, sep, attribute = reference.partition(":")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if not sep or not module_name or not attribute.isidentifier():
        raise ConfigurationError(
            f"--app {reference!r} is not MODULE:ATTRIBUTE; use 'module:name' (e.g. examples.todo_server:app) "
            "or 'module:factory()' (e.g. examples.todo_server:create_app())"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:  # like `flask --app`, modules are found from where the command runs
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"--app {reference!r}: cannot import {module_name!r} ({exc}); run from the directory that "
            "contains it or add it to PYTHONPATH"
        ) from None
    if not hasattr(module, attribute):
        candidates = sorted(
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and _looks_like_app(value)
        ) + sorted(f"{name}()" for name in ("create_app", "make_app") if callable(vars(module).get(name)))
        hint = f"; it has {', '.join(candidates)}" if candidates else ""
        raise ConfigurationError(f"--app {reference!r}: module {module_name!r} has no {attribute!r}{hint}")
    app = getattr(module, attribute)
    if call:
        try:
            app = app()
        except Exception as exc:
            raise ConfigurationError(f"--app {reference!r}: calling {attribute}() failed: {exc!r}") from exc
    if not callable(app):
        raise ConfigurationError(
            f"--app {reference!r} is a {type(app).__name__}, not a WSGI application; point at the app object "
            "or at a factory with '()'"
        )
    return app


def _looks_like_app(value: Any) -> bool:
    try:  # module-level proxies (flask.request) raise on any attribute access
        return callable(value) and not isinstance(value, type) and hasattr(value, "wsgi_app")
    except Exception:
        return False
