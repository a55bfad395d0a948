"""What every list page does with its FilterSet."""

from __future__ import annotations

from django.core.paginator import Page, Paginator

PAGE_SIZE = 50


class ListPaginator(Paginator):
    """A Paginator that may be told its count, when something cheaper than COUNT(*) knows it (for
    invoices, their tally: `invoices.models.RecordTally`)."""

    def __init__(self, object_list, per_page, *, count: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        if count is not None:
            self.count = count  # Paginator.count is a cached property: set, it is never counted


class DeferredPaginator(ListPaginator):
    """Finds a page's rows by primary key first (`pk IN (… LIMIT 50 OFFSET n)`), then reads only those.

    With an index on the list's order that ends in the primary key, the rows a late page skips are
    walked in the index alone (index-only) instead of read from the table one by one: page 20,000 of
    a million invoices costs about what page 1 does. A page nearer the end than the start is found by
    walking the list backwards from its end, so the last pages cost what the first ones do. Same rows,
    same order (the list's order must end in the primary key, so that it reverses exactly)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if top + self.orphans >= self.count:
            top = self.count
        if bottom > self.count - top:
            keys = self.object_list.reverse().values("pk")[self.count - top : self.count - bottom]
        else:
            keys = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


def filtered_page(request, filterset, *, deferred: bool = False, count: int | None = None) -> Page:
    """The filter's results, PAGE_SIZE a page. Templates include "_pagination.html", whose links
    keep the filters through {% querystring %}. `deferred`: see DeferredPaginator (for long lists
    whose order an index serves). `count`: how many results there are, when known without counting."""
    paginator = (DeferredPaginator if deferred else ListPaginator)(filterset.qs, PAGE_SIZE, count=count)
    return paginator.get_page(request.GET.get("page"))
