"""Names a package hands on, each imported from its module on first use (PEP 562), so that
importing the package, or one module of it, does not import the rest."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def on_first_use(package: str, homes: dict[str, set[str]]) -> Callable[[str], object]:
    """The module `__getattr__` of `package`: each name of `homes` (module -> names) imported
    from its module when first asked for."""

    def __getattr__(name: str) -> object:
        home = next((module for module, names in homes.items() if name in names), None)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)

    return __getattr__
