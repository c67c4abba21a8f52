"""One error type for everything a user can get wrong: the CLI prints its message as one line."""


class ArchvizError(Exception):
    """A problem the user can fix; `exit_code` is what the CLI exits with."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


MAX_MESSAGE = 400  # characters of a user exception's message kept in the one-line error


def describe(exc: BaseException, with_type: bool = True) -> str:
    """'TypeName: its message' on one line (lines joined by ' | ', long text cut), even when the
    exception's own str() fails: user code can raise anything."""
    try:
        text = str(exc)
    except Exception:
        text = "(its message could not be printed)"
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 1] + "…"
    if not with_type:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
