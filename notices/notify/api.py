"""REST API: a member's own subscriptions and channels (forged ids are 404), and the delivery log
(notice admins: every delivery; others: what went to their own email and channels)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from notices.events import EventKind
from notices.grid import Function
from notices.notify.models import CHANNEL_KINDS_STORED, Channel, Delivery, DeliveryAttempt, Subscription

from . import services
from .filters import DeliveryFilter


class ChannelSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        style={"input_type": "password"},
        help_text="Write-only. DingTalk signing secret (optional) or webhook HMAC key (16+ characters). "
        "Omit on update to keep the stored one.",
    )
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in CHANNEL_KINDS_STORED])
    has_secret = serializers.SerializerMethodField()
    is_failing = serializers.BooleanField(read_only=True)

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "secret",
            "has_secret",
            "is_failing",
            "consecutive_failures",
            "last_error",
            "created_at",
        ]
        read_only_fields = ["id", "consecutive_failures", "last_error", "created_at"]

    def get_has_secret(self, channel) -> bool:
        return bool(channel.secret)

    def validate_kind(self, value):
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError(_("A channel's kind cannot change; create a new channel."))
        return value


class SubscriptionSerializer(serializers.ModelSerializer):
    channel = serializers.PrimaryKeyRelatedField(
        queryset=Channel.objects.none(),
        allow_null=True,
        required=False,
        help_text="One of your channels; null sends to your account email.",
    )
    regions = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    systems = serializers.ListField(child=serializers.SlugField(max_length=100), required=False)
    functions = serializers.ListField(child=serializers.ChoiceField(choices=Function.choices), required=False)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=EventKind.choices), min_length=1)
    lead_minutes = serializers.ListField(
        child=serializers.IntegerField(min_value=services.MIN_LEAD_MINUTES, max_value=services.MAX_LEAD_MINUTES),
        required=False,
        max_length=services.MAX_LEAD_TIMES,
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "channel",
            "regions",
            "systems",
            "functions",
            "kinds",
            "lead_minutes",
            "confirmed_at",
            "created_at",
        ]
        read_only_fields = ["id", "confirmed_at", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["channel"].queryset = Channel.objects.for_user(request.user)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "duration_ms", "ok", "status_code", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "uuid",
            "event_key",
            "event_kind",
            "title",
            "channel_kind",
            "channel",
            "email",
            "is_test",
            "state",
            "attempts",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
            "attempt_log",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            data["email"] = instance.email_for(request.user)
        return data


def _own(view, model):
    if getattr(view, "swagger_fake_view", False):
        return model.objects.none()
    return model.objects.for_user(view.request.user)


class OwnResourceViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    # A member's own channels or subscriptions: full CRUD without PUT (writes go through the services
    # with PATCH semantics), scoped to the caller so another member's id is a 404. A comment, not a
    # docstring: drf-spectacular would print a docstring into every operation's description.

    model: type
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return _own(self, self.model)


@extend_schema_view(
    list=extend_schema(summary="My notification channels (secrets never returned)"),
    create=extend_schema(summary="Add a WeCom, DingTalk or signed-webhook channel"),
    retrieve=extend_schema(summary="One of my channels"),
    partial_update=extend_schema(summary="Rename a channel, change its address or replace its secret"),
    destroy=extend_schema(summary="Remove a channel and its subscriptions"),
)
class ChannelViewSet(OwnResourceViewSet):
    model = Channel
    serializer_class = ChannelSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.channel_create(
            owner=self.request.user,
            name=data["name"],
            kind=data["kind"],
            url=data["url"],
            secret=data.get("secret", ""),
        )

    def perform_update(self, serializer):
        channel = serializer.instance
        data = serializer.validated_data
        serializer.instance = services.channel_update(
            channel=channel,
            name=data.get("name", channel.name),
            url=data.get("url", channel.url),
            secret=data.get("secret"),
        )

    def perform_destroy(self, instance):
        services.channel_delete(channel=instance)

    @extend_schema(summary="Send a test message to this channel", request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.channel_send_test(channel=self.get_object(), user=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="My subscriptions"),
    create=extend_schema(summary="Follow regions, systems and functions for some kinds of event"),
    retrieve=extend_schema(summary="One of my subscriptions"),
    partial_update=extend_schema(summary="Change what a subscription follows"),
    destroy=extend_schema(summary="Unsubscribe"),
)
class SubscriptionViewSet(OwnResourceViewSet):
    model = Subscription
    serializer_class = SubscriptionSerializer

    def get_queryset(self):
        return super().get_queryset().select_related("channel")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.subscription_create(owner=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        channel = data.pop("channel", False)
        serializer.instance = services.subscription_update(subscription=serializer.instance, channel=channel, **data)

    def perform_destroy(self, instance):
        services.subscription_delete(subscription=instance)


@extend_schema_view(
    list=extend_schema(summary="Delivery log (notice admins: all; others: deliveries to them)"),
    retrieve=extend_schema(summary="One delivery with its attempts"),
)
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return (
            _own(self, Delivery)
            .select_related("channel", "subscription")
            .order_by("-created_at", "-pk")
            .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number")))
        )


router = SimpleRouter()
router.register("notification-channels", ChannelViewSet, basename="notification-channel")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("deliveries", DeliveryViewSet, basename="delivery")
