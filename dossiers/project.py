"""The repository around the package: config.py, templates/, migrations/ and bench/ sit
beside `dossiers/` (the design card's layout), found from here whatever the working
directory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def path(name: str) -> Path:
    return ROOT / name


def module(name: str, relative: str) -> ModuleType:
    """Import a module of the repository by its file, once: `config` from config.py."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    if spec is None or spec.loader is None:
        raise ImportError(f"{relative} is not in {ROOT}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded
