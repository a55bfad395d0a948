"""What every list page does with its FilterSet."""

from __future__ import annotations

from django.core.paginator import Page, Paginator

PAGE_SIZE = 50


def filtered_page(request, filterset) -> Page:
    """The filter's results, PAGE_SIZE a page. Templates include "_pagination.html", whose links
    keep the filters through {% querystring %}."""
    return Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
