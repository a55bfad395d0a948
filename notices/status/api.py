"""GET /api/status/: the derived state of every system × function (authenticated read)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.grid import Function
from notices.status import derived
from notices.status.filters import status_scope
from notices.status.models import ComponentState


class FunctionStatusSerializer(serializers.Serializer):
    function = serializers.ChoiceField(choices=Function.choices)
    state = serializers.ChoiceField(choices=ComponentState.choices)
    notices = serializers.ListField(child=serializers.IntegerField(), help_text="Windows covering now.")
    incidents = serializers.ListField(child=serializers.IntegerField(), help_text="Active incidents.")


class SystemStatusSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    region = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField(help_text="The system's public page.")
    state = serializers.ChoiceField(choices=ComponentState.choices, help_text="Worst state of its functions.")
    functions = FunctionStatusSerializer(many=True, help_text="Only the functions the system offers.")


class StatusSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    systems = SystemStatusSerializer(many=True)


def _serialize(grid, now) -> dict:
    return {
        "as_of": timezone.localtime(now).isoformat(),
        "systems": [
            {
                "slug": row.system.slug,
                "region": row.system.region,
                "name": row.system.name,
                "url": row.system.get_absolute_url(),
                "state": row.state,
                "functions": [
                    {
                        "function": cell.function,
                        "state": cell.state,
                        "notices": [n.pk for n in cell.notices],
                        "incidents": [i.pk for i in cell.incidents],
                    }
                    for cell in row.cells
                    if cell.offered
                ],
            }
            for row in grid
        ],
    }


_CSV = "Comma-separated; any of them."
_FUNCTIONS = ", ".join(Function.values)


class StatusView(APIView):
    """Each active system's state now per function, derived from notices and incidents."""

    @extend_schema(
        operation_id="status_retrieve",
        parameters=[
            OpenApiParameter("region", OpenApiTypes.STR, description=f"Regions, e.g. 北京,西安. {_CSV}"),
            OpenApiParameter("system", OpenApiTypes.STR, description=f"System slugs. {_CSV}"),
            OpenApiParameter(
                "function",
                OpenApiTypes.STR,
                description=f"Functions ({_FUNCTIONS}): systems offering one; only those columns. {_CSV}",
            ),
        ],
        responses=StatusSerializer,
    )
    def get(self, request):
        scope = status_scope(request.query_params)
        if not scope.is_valid():
            raise ValidationError(scope.errors)
        now = timezone.now()
        grid = derived.current_status(now, systems=scope.qs, functions=scope.functions)
        return Response(_serialize(grid, now))
