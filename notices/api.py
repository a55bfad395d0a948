"""REST API of the catalogue, notices and incidents: read for every signed-in user, write for
notice admins. Writes call the same services as the admin pages, so the same rules hold."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from notices import selectors, services
from notices.conflicts import notice_warnings
from notices.filters import IncidentFilter, NoticeFilter, TaxSystemFilter
from notices.grid import Function
from notices.models import (
    Incident,
    IncidentState,
    IncidentUpdate,
    MaintenanceNotice,
    NoticeRevision,
    NoticeState,
    TaxSystem,
)
from notices.parsing import PARTS, parse_admin_datetime
from outage_portal.validators import moment_out_of_range, validate_moment

# The states an update may move an incident to (resolving has its own action); named in the schema.
INCIDENT_UPDATE_STATE_CHOICES = [c for c in IncidentState.choices if c[0] != IncidentState.RESOLVED]


class IsNoticeAdminOrReadOnly(permissions.BasePermission):
    message = gettext_lazy("Only notice admins may change notices, incidents and the catalogue.")

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_notice_admin


class BeijingDateTimeField(serializers.DateTimeField):
    """ISO 8601; without an offset it is Beijing time, and "24:00" is the next day's 00:00."""

    def to_internal_value(self, value):
        moment = None
        if isinstance(value, str):
            try:
                moment = parse_admin_datetime(value)
            except ValueError:
                pass
        if moment is None:
            try:
                moment = super().to_internal_value(value)
            except OverflowError:  # DRF's own check of the zone conversion overflows near year 1
                raise moment_out_of_range() from None
        validate_moment(moment)
        return moment


def _functions_field(**kwargs):
    return serializers.ListField(child=serializers.ChoiceField(choices=Function.choices), allow_empty=False, **kwargs)


class TaxSystemSerializer(serializers.ModelSerializer):
    functions = _functions_field()

    class Meta:
        model = TaxSystem
        fields = ["id", "region", "name", "slug", "functions", "description", "url", "sort_order", "is_active"]


class NoticeRevisionSerializer(serializers.ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    changes = serializers.DictField(child=serializers.ListField(), read_only=True)

    class Meta:
        model = NoticeRevision
        fields = [
            "number", "changed_by", "changed_at", "reason", "changes", "old_window_start", "old_window_end",
            "new_window_start", "new_window_end",
        ]  # fmt: skip
        read_only_fields = fields


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    url = serializers.CharField()


class NoticeSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=TaxSystem.objects.all())
    region = serializers.CharField(source="system.region", read_only=True)
    window_start = BeijingDateTimeField()
    window_end = BeijingDateTimeField()
    functions = _functions_field()
    state = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    revisions = NoticeRevisionSerializer(many=True, read_only=True)
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, help_text="Why it changed")

    class Meta:
        model = MaintenanceNotice
        fields = [
            "id", "system", "region", "title", "window_start", "window_end", "announced_end", "functions",
            "body_markdown", "body_html", "alternatives", "contacts", "preparation_checklist", "recovery_checklist",
            "issuing_bureau", "document_number", "source_url", "original_text", "state", "cancel_reason",
            "revision", "published_at", "updated_at", "url", "revisions", "reason",
        ]  # fmt: skip
        read_only_fields = [
            "announced_end", "body_html", "cancel_reason", "revision", "published_at", "updated_at",
        ]  # fmt: skip

    @extend_schema_field(serializers.ChoiceField(choices=NoticeState.choices))
    def get_state(self, notice) -> str:
        """By the clock: never stale even between two beat ticks."""
        return services.notice_state_at(notice, timezone.now())


class NoticeDetailSerializer(NoticeSerializer):
    warnings = serializers.SerializerMethodField()

    class Meta(NoticeSerializer.Meta):
        fields = [*NoticeSerializer.Meta.fields, "warnings"]

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, notice) -> list[dict]:
        return [w.__dict__ for w in notice_warnings(notice)]


class NoticeParseRequestSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=100_000,
        help_text="The announcement as published (heading, body, signature).",
        error_messages={
            "required": gettext_lazy("Send the announcement's text in “text”."),
            "blank": gettext_lazy("The announcement's text is empty."),
            "max_length": gettext_lazy("The text is longer than 100,000 characters; send one announcement."),
            "invalid": gettext_lazy("“text” must be a string."),
        },
    )
    published = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Publication date (YYYY-MM-DD); gives the year to dates written without one.",
        error_messages={"invalid": gettext_lazy("“published” must be a date written YYYY-MM-DD.")},
    )


class ParsedWindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="ISO 8601 with the +08:00 offset")
    end = serializers.DateTimeField(help_text="ISO 8601 with the +08:00 offset; 24:00 is the next day's 00:00")
    text = serializers.CharField(help_text="The words the window was read from")


class NoticeParseSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="Proposed from a heading-like first line only; empty otherwise")
    region = serializers.CharField(help_text="The provincial-level tax bureau's short name (陕西, 深圳); empty if none")
    system = serializers.CharField(
        allow_null=True, help_text="Slug of the catalogue system, as POST /api/notices/ takes it; null if not found"
    )
    system_name = serializers.CharField(help_text="The system named in the text (电子税务局 …); empty if none")
    bureau = serializers.CharField(help_text="The issuing bureau as it signs (国家税务总局陕西省税务局); empty if none")
    published = serializers.DateField(allow_null=True)
    windows = ParsedWindowSerializer(many=True)
    functions = serializers.ListField(child=serializers.ChoiceField(choices=Function.choices))
    missing = serializers.ListField(
        child=serializers.ChoiceField(choices=list(PARTS)),
        help_text="The parts not found in the text",
    )
    messages = serializers.DictField(child=serializers.CharField(), help_text="Why each missing part is missing")


def notice_parse_data(proposal, system) -> dict:
    messages = proposal.missing_messages
    if system is None and proposal.system_name and proposal.region:
        messages["system"] = str(PARSE_NO_CATALOGUE_SYSTEM)
    elif system is None and "system" not in messages:
        messages["system"] = messages.get("region") or str(PARSE_NO_CATALOGUE_SYSTEM)
    missing = [part for part in PARTS if part in messages]
    shanghai = timezone.get_fixed_timezone(8 * 60)
    return {
        "title": proposal.title,
        "region": proposal.region,
        "system": system.slug if system else None,
        "system_name": proposal.system_name,
        "bureau": proposal.bureau,
        "published": proposal.published_on,
        "windows": [
            {"start": w.start.astimezone(shanghai), "end": w.end.astimezone(shanghai), "text": w.text}
            for w in proposal.windows
        ],
        "functions": proposal.functions,
        "missing": missing,
        "messages": {part: messages[part] for part in missing},
    }


PARSE_NO_CATALOGUE_SYSTEM = gettext_lazy("The catalogue has no such system for this region: choose it by hand.")


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField()


class ExtendSerializer(serializers.Serializer):
    new_end = BeijingDateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="Maintenance notices (filter by region, system, function, time, state)"),
    retrieve=extend_schema(summary="One notice with its revisions and current warnings"),
    create=extend_schema(summary="Publish a notice (notice admins)", responses={201: NoticeDetailSerializer}),
    partial_update=extend_schema(
        summary="Revise a notice; the change is kept as a revision (notice admins)",
        responses={200: NoticeDetailSerializer},
    ),
)
class NoticeViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    permission_classes = [IsNoticeAdminOrReadOnly]
    filterset_class = NoticeFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            MaintenanceNotice.objects.select_related("system")
            .prefetch_related(
                Prefetch("revisions", queryset=NoticeRevision.objects.select_related("changed_by").order_by("number"))
            )
            .order_by("-window_start", "-pk")
        )

    def get_serializer_class(self):
        return NoticeSerializer if self.action == "list" else NoticeDetailSerializer

    def _detail(self, notice, code=status.HTTP_200_OK):
        notice = self.get_queryset().get(pk=notice.pk)
        return Response(NoticeDetailSerializer(notice, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = NoticeSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("reason", None)
        notice = services.notice_publish(user=request.user, **data)
        return self._detail(notice, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        notice = self.get_object()
        serializer = NoticeSerializer(notice, data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        notice = services.notice_revise(notice=notice, user=request.user, reason=reason, **data)
        return self._detail(notice)

    @extend_schema(
        summary="Read an announcement's text: region, system, bureau, windows, functions (notice admins)",
        description=(
            "Proposes a notice from a bureau's announcement as published. Nothing is saved. Times are "
            "Beijing time with the +08:00 offset; `missing` names every part the text does not give."
        ),
        request=NoticeParseRequestSerializer,
        responses={200: NoticeParseSerializer},
    )
    @action(detail=False, methods=["post"], url_path="parse")
    def parse(self, request):
        body = NoticeParseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        proposal, system = selectors.notice_text_proposal(
            text=body.validated_data["text"], published=body.validated_data.get("published")
        )
        return Response(NoticeParseSerializer(notice_parse_data(proposal, system)).data)

    @extend_schema(
        summary="Cancel a notice (notice admins)", request=CancelSerializer, responses=NoticeDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        notice = self.get_object()
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notice = services.notice_cancel(notice=notice, user=request.user, reason=body.validated_data["reason"])
        return self._detail(notice)

    @extend_schema(
        summary="Extend a running window (notice admins)", request=ExtendSerializer, responses=NoticeDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        notice = self.get_object()
        body = ExtendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notice = services.notice_extend(notice=notice, user=request.user, **body.validated_data)
        return self._detail(notice)


class IncidentUpdateSerializer(serializers.ModelSerializer):
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentUpdate
        fields = ["id", "state", "body_markdown", "body_html", "posted_at", "posted_by"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=TaxSystem.objects.all())
    region = serializers.CharField(source="system.region", read_only=True)
    functions = _functions_field()
    started_at = BeijingDateTimeField()
    impact_invoice_types = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    impact_regions = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    updates = IncidentUpdateSerializer(many=True, read_only=True)
    message = serializers.CharField(write_only=True, required=False, help_text="First public update (on create)")

    class Meta:
        model = Incident
        fields = [
            "id", "system", "region", "title", "functions", "severity", "state", "started_at", "ended_at",
            "impact_invoice_types", "impact_regions", "impact_summary", "postmortem_cause", "postmortem_lost",
            "postmortem_actions", "postmortem_html", "created_at", "updated_at", "url", "updates", "message",
        ]  # fmt: skip
        read_only_fields = [
            "state", "ended_at", "postmortem_cause", "postmortem_lost", "postmortem_actions", "postmortem_html",
            "created_at", "updated_at",
        ]  # fmt: skip


class IncidentPostUpdateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=INCIDENT_UPDATE_STATE_CHOICES)
    message = serializers.CharField()
    posted_at = BeijingDateTimeField(required=False)


class IncidentResolveSerializer(serializers.Serializer):
    ended_at = BeijingDateTimeField()
    message = serializers.CharField()


class PostmortemSerializer(serializers.Serializer):
    cause = serializers.CharField()
    lost = serializers.CharField(required=False, allow_blank=True, default="")
    actions = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="Incidents (filter by region, system, function, time, state, severity)"),
    retrieve=extend_schema(summary="One incident with its public updates and post-mortem"),
    create=extend_schema(summary="Open an incident with its first update (notice admins)"),
    partial_update=extend_schema(summary="Correct an incident's facts (notice admins)"),
)
class IncidentViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = IncidentSerializer
    permission_classes = [IsNoticeAdminOrReadOnly]
    filterset_class = IncidentFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            Incident.objects.select_related("system")
            .prefetch_related(
                Prefetch("updates", queryset=IncidentUpdate.objects.select_related("posted_by").order_by("posted_at"))
            )
            .order_by("-started_at", "-pk")
        )

    def _detail(self, incident, code=status.HTTP_200_OK):
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(incident, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = IncidentSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # incident_open refuses a missing or blank first update, in the same words as the page.
        incident = services.incident_open(user=request.user, message=data.pop("message", ""), **data)
        return self._detail(incident, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = IncidentSerializer(
            incident, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("message", None)
        incident = services.incident_edit(incident=incident, **data)
        return self._detail(incident)

    @extend_schema(
        summary="Post a public update (notice admins)",
        request=IncidentPostUpdateSerializer,
        responses=IncidentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="updates")
    def post_update(self, request, pk=None):
        incident = self.get_object()
        body = IncidentPostUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.incident_post_update(incident=incident, user=request.user, **body.validated_data)
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(summary="Resolve (notice admins)", request=IncidentResolveSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = self.get_object()
        body = IncidentResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.incident_resolve(incident=incident, user=request.user, **body.validated_data)
        return self._detail(incident)

    @extend_schema(
        summary="Write the post-mortem of a resolved incident (notice admins)",
        request=PostmortemSerializer,
        responses=IncidentSerializer,
    )
    @action(detail=True, methods=["post"])
    def postmortem(self, request, pk=None):
        incident = self.get_object()
        body = PostmortemSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.incident_postmortem(incident=incident, user=request.user, **body.validated_data)
        return self._detail(incident)


@extend_schema_view(
    list=extend_schema(summary="The catalogue of regional tax systems"),
    retrieve=extend_schema(summary="One tax system"),
    create=extend_schema(summary="Add a tax system (notice admins)"),
    partial_update=extend_schema(summary="Change a tax system (notice admins)"),
)
class TaxSystemViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TaxSystemSerializer
    permission_classes = [IsNoticeAdminOrReadOnly]
    filterset_class = TaxSystemFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = TaxSystem.objects.order_by("sort_order", "region", "name")

    def perform_create(self, serializer):
        serializer.instance = services.tax_system_save(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tax_system_save(system=serializer.instance, **serializer.validated_data)
