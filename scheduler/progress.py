"""Progress bars for the long management commands (export, import, rotate_keys, backfill_keys,
check_integrity): tqdm on the command's own output, or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tqdm import tqdm


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


# (description, total or None) -> a progress bar; the commands pass tqdm.
ProgressFactory = Callable[[str, "int | None"], Progress]


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(description: str, total: int | None) -> Progress:
    return _Silent()


def progress_bars(stream: Any, *, disable: bool = False) -> ProgressFactory:
    """tqdm bars on a management command's stdout/stderr. Its OutputWrapper ends every write with a
    newline unless told otherwise, which would turn each redraw of a bar into a line of its own."""

    class _Unwrapped:
        def write(self, text: str) -> None:
            stream.write(text, ending="")

        def flush(self) -> None:
            stream.flush()

    def bar(description: str, total: int | None) -> Progress:
        return tqdm(total=total, desc=description, unit="item", disable=disable, file=_Unwrapped())

    return bar
