"""Numbered pages that cost one query: the total comes with the page (COUNT(*) OVER ())."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window

_MAX_PAGE = 1_000_000


def window_page(queryset: QuerySet, *, per_page: int, number: object) -> Page:
    """The page ``number`` of ``queryset`` (clamped like ``Paginator.get_page``).

    A separate COUNT would pass over the whole filtered network a second time; the
    window total is computed in the same pass as the page. A number past the end
    falls back to the last page (then a plain count is needed, once).
    """
    paginator = Paginator(queryset, per_page)
    try:
        wanted = max(1, int(number))
    except (TypeError, ValueError):
        wanted = 1
    if wanted > _MAX_PAGE:  # past any real network: let Paginator clamp it to the last page
        return paginator.get_page(wanted)
    offset = (wanted - 1) * per_page
    rows = list(queryset.annotate(_page_total=Window(Count("pk")))[offset : offset + per_page])
    if rows:
        # Paginator.count is a cached_property: seed it so no COUNT query runs.
        paginator.__dict__["count"] = rows[0]._page_total
        return Page(rows, wanted, paginator)
    return paginator.get_page(wanted)
