"""Start a nameko service: patch eventlet first, then import the service and run it.

Every service's ``__main__`` calls :func:`main` with dotted paths, so nothing that opens sockets or
loads psycopg2 is imported before eventlet's monkey patching (which also makes psycopg2 green).
"""
from __future__ import annotations

import importlib
import warnings


def _load(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def main(service_path: str, settings_path: str) -> None:
    # eventlet warns on import that it is in maintenance mode; it is pinned knowingly (README.md).
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

    from .nameko_ext.runtime import run_service

    run_service(_load(service_path), _load(settings_path)())
