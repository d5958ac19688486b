"""The one exception type users of kotae see."""


class KotaeError(Exception):
    """A problem the user can fix: the message says what, the value, and the fix.

    The CLI prints it as one line on stderr and exits with ``exit_code``;
    the Python API lets it propagate.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(KotaeError):
    """Bad input files or questions (exit 2)."""

    exit_code = 2


class IndexFileError(KotaeError):
    """A missing, corrupted or incompatible index (exit 3)."""

    exit_code = 3


class IntegrityError(KotaeError):
    """A citation that does not reproduce its source: a bug, never hidden (exit 70)."""

    exit_code = 70
