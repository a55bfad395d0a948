"""API tokens for integrators (django-rest-knox): stored as hashes, expiring after API_TOKEN_TTL_HOURS,
revocable one by one or all at once, and gone when the user's password changes.

`POST /api/token/` with username and password answers {"token", "expiry"}; send the token as
`Authorization: Token <token>`. `POST /api/token/revoke/` ends the token it is sent with,
`POST /api/token/revoke-all/` every token of its user. The token endpoint and every write are throttled.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models.signals import pre_save
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from knox.views import LogoutAllView, LogoutView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_portal.throttling import TokenRateThrottle


def token_ttl() -> timedelta:
    return timedelta(hours=settings.API_TOKEN_TTL_HOURS)


class TokenView(APIView):
    """Exchange a username and password for a new API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRateThrottle]
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer(
                "ApiToken", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
            )
        },
        summary="Get an API token (expires; revoke with /api/token/revoke/)",
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        instance, token = AuthToken.objects.create(user=serializer.validated_data["user"], expiry=token_ttl())
        return Response({"token": token, "expiry": instance.expiry})


@extend_schema(request=None, responses={204: None}, summary="Revoke the token this request is sent with")
class TokenRevokeView(LogoutView):
    pass


@extend_schema(request=None, responses={204: None}, summary="Revoke every token of this user")
class TokenRevokeAllView(LogoutAllView):
    pass


def revoke_tokens_on_password_change(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """A password change ends every API token, as it ends other sessions. A signal because every path
    that changes a password (change and reset forms, admin, services, commands) ends in this save."""
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    before = sender._base_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    if before is not None and before != instance.password:
        AuthToken.objects.filter(user_id=instance.pk).delete()


def connect() -> None:
    pre_save.connect(
        revoke_tokens_on_password_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="revoke-api-tokens"
    )
