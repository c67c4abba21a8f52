"""One error type for everything a user can get wrong: the CLI prints its message as one line."""


class ArchvizError(Exception):
    """A problem the user can fix; `exit_code` is what the CLI exits with."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
