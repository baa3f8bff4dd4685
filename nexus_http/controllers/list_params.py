"""Query parameters every paginated list shares, as the OpenAPI document shows them.

They are read as text and checked by the core, so that every bad one is reported at once, in
the API's words.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

Page = Annotated[str | None, QueryParameter(description="Page number, from 1 (default 1).")]
PerPage = Annotated[
    str | None,
    QueryParameter(description="Items per page: default 20; values above 100 read as 100."),
]


def given_params(**values: str | None) -> dict[str, str]:
    """The query parameters the client sent (absent ones left out)."""
    return {name: value for name, value in values.items() if value is not None}
