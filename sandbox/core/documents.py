"""TOML documents written by users (scenarios, question sets): reading them by name or path, and
typed reads whose errors name the file, the key path and what to write instead."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from sandbox.core.checks import Range
from sandbox.errors import SandboxError

MAX_DOCUMENT_BYTES = 1024 * 1024
T = TypeVar("T")


def show(value: object) -> str:
    return "nothing" if value is None else repr(value)


def bundled_names(folder: Traversable) -> list[str]:
    """Names of the `.toml` files shipped in a package folder."""
    return sorted(
        e.name.removesuffix(".toml") for e in folder.iterdir() if e.name.endswith(".toml")
    )


def read_toml(
    name_or_path: str | os.PathLike[str],
    folder: Traversable,
    kind: str,
    error: type[SandboxError],
) -> tuple[dict[str, Any], str]:
    """The document of a bundled file (by name) or of a path, and how to name it in errors."""
    bundled = bundled_names(folder)
    if isinstance(name_or_path, str) and name_or_path in bundled:
        text, source = (folder / f"{name_or_path}.toml").read_text(encoding="utf-8"), name_or_path
    else:
        source = str(name_or_path)
        if not source.strip():
            raise error(f"the name is empty: name a bundled {kind} or a .toml file")
        path = Path(name_or_path)
        try:
            if path.exists() and not path.is_file() and not path.is_dir():
                raise error(f"{source}: not a regular file (a device or a pipe); name a .toml file")
            with path.open("rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                raise error(
                    f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes; is it the right file?"
                )
            text = data.decode("utf-8-sig")  # a byte-order mark is fine
        except FileNotFoundError:
            known = ", ".join(bundled) or "none"
            raise error(f"{source}: no such file, and not a bundled {kind} ({known})") from None
        except IsADirectoryError:
            raise error(f"{source}: is a folder; name a .toml file") from None
        except UnicodeDecodeError as e:
            raise error(
                f"{source}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8"
            ) from None
        except OSError as e:
            raise error(f"{source}: cannot read it ({e.strerror})") from None
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as e:
        raise error(f"{source}: invalid TOML: {e}") from None


class Doc:
    """Typed reads from one table of the document, with errors that say where and what to do."""

    def __init__(
        self,
        table: object,
        where: str,
        source: str,
        allowed: tuple[str, ...],
        error: type[SandboxError],
    ) -> None:
        self.source = source
        self.where = where
        self.error = error
        if not isinstance(table, dict):
            raise self.fail(where, f"expected a table, got {show(table)}")
        self.table = table
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = (
                    f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(allowed)})"
                )
                raise self.fail(self.path(key), f"unknown key{hint}")

    def path(self, key: str) -> str:
        if key.startswith("["):
            return f"{self.where}{key}"
        return f"{self.where}.{key}" if self.where else key

    def fail(self, path: str, message: str) -> SandboxError:
        return self.error(f"{self.source}: {path}: {message}")

    def has(self, key: str) -> bool:
        return key in self.table

    def number(self, key: str, default: float | None, bounds: Range) -> float:
        """The number at `key` (`default` when absent; None: it is required) within `bounds`;
        a whole number (an int) when the bounds are whole."""
        value = self.table.get(key, default)
        if value is None:
            raise self.fail(self.path(key), f"missing; add {key} = <{bounds.describe()}>")
        problem = bounds.problem(value)
        if problem:
            raise self.fail(self.path(key), problem)
        return value if bounds.whole else float(value)

    def text(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(self.path(key), f"expected a non-empty string, got {show(value)}")
        if choices and value not in choices:
            raise self.fail(self.path(key), f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def tables(self, key: str) -> list[object]:
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(self.path(key), f"expected [[{key}]] tables, got {show(value)}")
        return value

    def strings(self, key: str, default: list[str] | None = None) -> list[str]:
        value = self.table.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(self.path(key), f"expected a list of strings, got {show(value)}")
        return value

    def build(self, cls: Callable[..., T], keys: Iterable[str], **fixed: Any) -> T:
        """`cls` built from those of `keys` this table gives (the others keep `cls`'s defaults)
        and `fixed`; an error about one setting names its key path."""
        given = {key: self.table[key] for key in keys if key in self.table}
        try:
            return cls(**given, **fixed)
        except SandboxError as e:
            if e.field is None:
                raise self.fail(self.where or "(top)", str(e)) from None
            raise self.fail(self.path(e.field), e.reason) from None

    def sub(self, key: str, allowed: tuple[str, ...]) -> Doc:
        return self.child(self.table.get(key, {}), self.path(key), allowed)

    def child(self, table: object, where: str, allowed: tuple[str, ...]) -> Doc:
        """Another table of the same document."""
        return Doc(table, where, self.source, allowed, self.error)
