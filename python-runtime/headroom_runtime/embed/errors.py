"""The embedding job's own failure: a document that cannot be encoded at all."""

from __future__ import annotations

from headroom_runtime.core.errors import ReportedError


class DocumentTooLarge(ReportedError):
    """One document alone does not fit in memory and the OOM policy is `fail`."""

    code = "document_too_large"

    def __init__(self, message: str, row: int, tokens: int) -> None:
        super().__init__(message)
        self.row = row
        self.tokens = tokens
