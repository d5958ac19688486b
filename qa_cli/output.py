"""Standard output that fails in one line: closed, full or gone, and text safe for a terminal.

`kotae ask … > /dev/full` raised OSError from print() (a traceback), `>&-` left
sys.stdout None (an AttributeError), and an ingest whose summary could not be printed
said nothing of the index it had just written. Here a failed write becomes an
OutputError (exit 74, the sysexits EX_IOERR), which the CLI prints as one line.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import TextIO

from ingest.errors import KotaeError


class OutputError(KotaeError):
    """Standard output could not be written (exit 74)."""

    exit_code = 74


class _Guarded:
    """sys.stdout, with a failed write or flush raised as OutputError (EPIPE stays a
    BrokenPipeError: `kotae ask - | head -1` is a reader that has had enough)."""

    def __init__(self, inner: TextIO | None) -> None:
        self.inner = inner

    def _fail(self, e: OSError | None) -> OutputError:
        why = "it is closed" if e is None else os.strerror(e.errno) if e.errno else str(e)
        return OutputError(f"cannot write to standard output ({why})")

    def write(self, text: str) -> int:
        if self.inner is None:
            raise self._fail(None)
        try:
            return self.inner.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise self._fail(e) from None

    def flush(self) -> None:
        if self.inner is None:
            return
        try:
            self.inner.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise self._fail(e) from None

    def isatty(self) -> bool:
        return self.inner is not None and self.inner.isatty()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def guard_stdout() -> TextIO | None:
    """Put the guard on sys.stdout and return what it was (to put back when the command
    ends). A closed fd 1 gets /dev/null, so that no file the run opens (an index's lock,
    its store) is handed fd 1 and written to by a stray print."""
    before = sys.stdout
    closed = sys.stdout is None
    if closed:
        try:
            os.fstat(1)
        except OSError:
            fd = os.open(os.devnull, os.O_WRONLY)
            if fd != 1:
                os.dup2(fd, 1)
                os.close(fd)
    if not isinstance(sys.stdout, _Guarded):
        sys.stdout = _Guarded(None if closed else sys.stdout)
    return before


def discard_stdout() -> None:
    """After a failed write: point fd 1 at /dev/null, so that the flush at exit of what is
    still buffered cannot fail again (a second message, or 'Exception ignored')."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.close(fd)
    except OSError as e:  # pragma: no cover - /dev/null always opens
        if e.errno != errno.ENOENT:
            raise


# Bidirectional overrides and isolates reorder what a terminal shows (a doc id or a
# cited sentence holding U+202E reads backwards), and C0/C1 controls other than tab and
# newline can drive it (ESC [ 2 J clears the screen). Shown as \u escapes instead.
_UNSAFE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    r"""``text`` with what would reorder or drive a terminal escaped: 'abc\u202e' -> 'abc\\u202e'."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
