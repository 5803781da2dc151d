"""Where ``bimtek login`` keeps the gateway's address and the refresh token: one JSON file under
``$XDG_CONFIG_HOME/bimtek/`` (``~/.config/bimtek/`` by default), readable by its owner only.

The password is never stored. A refresh token works once, so the file is rewritten with each new
one (atomically: a crash leaves the old file or the new one, never half of either).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FILE_NAME = "config.json"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bimtek"


def config_path() -> Path:
    return config_dir() / FILE_NAME


def load() -> dict[str, Any]:
    try:
        return json.loads(config_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def save(settings: dict[str, Any]) -> Path:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / FILE_NAME
    temporary = folder / f".{FILE_NAME}.{os.getpid()}"
    # Created 0600 from the start: the token is never readable by others, not even for a moment.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(settings, out, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def forget_tokens() -> None:
    settings = load()
    if settings.pop("refresh_token", None) is not None:
        save(settings)
