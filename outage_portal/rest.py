"""REST API plumbing shared by every app: pagination and one error shape.

Kept apart from api.py modules because DRF imports these while it is itself importing.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, pagination, permissions
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from outage_portal.pages import DeferredPaginator, ListPaginator


class Pagination(pagination.PageNumberPagination):
    """A view that knows how many results its list holds without counting them (for invoices, from
    their tally) says so through `list_count(queryset)`, which returns None when it does not."""

    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = ListPaginator

    def paginate_queryset(self, queryset, request, view=None):
        count = view.list_count(queryset) if hasattr(view, "list_count") else None
        if count is not None:  # one pagination object per request: the view's
            self.django_paginator_class = functools.partial(type(self).django_paginator_class, count=count)
        return super().paginate_queryset(queryset, request, view)


class DeferredPagination(Pagination):
    """For long lists whose order an index serves: see outage_portal.pages.DeferredPaginator."""

    django_paginator_class = DeferredPaginator


def exception_handler(exc, context):
    """Every API error has the shape {"error": {"code", "message", "fields"}}.

    Django's own ValidationError (raised by services' full_clean) becomes a 400 like DRF's, and a
    service's PermissionDenied (and Django's Http404) DRF's, so its code reads "permission_denied"
    (or "not_found") beside its message.
    """
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, Http404):  # get_object_or_404 in a view or service: "not_found", like DRF's own
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, TooManyFilesSent):  # more files than DATA_UPLOAD_MAX_NUMBER_FILES in one request
        from outage_portal.views import too_many_files_message

        exc = exceptions.ParseError(too_many_files_message())
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    fields: dict = {}
    if isinstance(exc, DRFValidationError):
        code = "invalid"
        if isinstance(data, dict):
            fields = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in data.items()}
            message = "; ".join(
                f"{k}: {' '.join(v)}" if k != "non_field_errors" else " ".join(v) for k, v in fields.items()
            )
        else:
            message = " ".join(str(m) for m in data)
    else:
        code = getattr(exc, "default_code", "error")
        message = str(data.get("detail", data)) if isinstance(data, dict) else str(data)
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response


class ApiDocsAccess(permissions.BasePermission):
    """The OpenAPI schema names every endpoint and field: signed-in users only unless API_DOCS_PUBLIC."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, building `filterset_fields` FilterSets on outage_portal.filters.TenantFilterSet."""

    @property
    def filterset_base(self):
        from outage_portal.filters import TenantFilterSet  # models are not loaded when DRF imports this

        return TenantFilterSet
