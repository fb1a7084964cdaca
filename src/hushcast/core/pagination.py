"""Yespo-style paging: ``startindex`` (1-based) and ``maxrows``, total in ``TotalCount``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, Response


@dataclass(frozen=True)
class Page:
    startindex: int
    maxrows: int

    @property
    def offset(self) -> int:
        return self.startindex - 1


def page_params(
    startindex: Annotated[int, Query(ge=1, description="1-based index of the first row")] = 1,
    maxrows: Annotated[int, Query(ge=1, le=500, description="rows per page, at most 500")] = 500,
) -> Page:
    return Page(startindex=startindex, maxrows=maxrows)


def set_total(response: Response, total: int) -> None:
    response.headers["TotalCount"] = str(total)
