from __future__ import annotations

from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import replace_query_param


class StandardPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def page_envelope(
    *, url: str, page: int, size: int, total: int, results: list[Any]
) -> dict[str, Any]:
    """The paginated envelope of StandardPagination for a page counted elsewhere (raw SQL
    that returns its rows and the total in one query)."""
    has_next = page * size < total
    return {
        "count": total,
        "next": replace_query_param(url, "page", page + 1) if has_next else None,
        "previous": replace_query_param(url, "page", page - 1) if page > 1 else None,
        "results": results,
    }
