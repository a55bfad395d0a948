"""Pages: a member's subscription settings (subscriptions, channels, test messages), the public
sign-up with double opt-in, the signed unsubscribe link, and the deliveries dashboard for notice admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notices.notify.models import Channel, Delivery, Subscription
from notices.views import notice_admin_required
from outage_portal.forms import form_add_service_errors
from outage_portal.pages import filtered_page

from . import services
from .filters import DeliveryFilter
from .forms import EMAIL_TARGET, ChannelForm, SubscriptionForm, VisitorSubscribeForm
from .tokens import unsubscribe_subscription_id


def _saved_or_errors(request, form, save, success_message):
    """Call the service behind a valid form: on success say so and go back to the settings page;
    the service's own validation errors go onto the form (returns None, so the caller re-renders it)."""
    try:
        save()
    except ValidationError as exc:
        form_add_service_errors(form, exc)
        return None
    messages.success(request, success_message)
    return redirect("notices:notify-settings")


def _follow(form) -> dict:
    data = form.cleaned_data
    return {
        "regions": data["regions"],
        "systems": data["systems"],
        "functions": data["functions"],
        "kinds": data["kinds"],
        "lead_minutes": data["lead_minutes"],
    }


def _settings_page(request, *, subscription_form=None, channel_form=None, status=200):
    user = request.user
    subscriptions = Subscription.objects.for_user(user).select_related("channel", "owner")
    channels = Channel.objects.for_user(user).annotate(n_subscriptions=Count("subscriptions"))
    recent = (
        Delivery.objects.for_user(user).select_related("channel", "subscription").order_by("-created_at", "-pk")[:20]
    )
    return render(
        request,
        "notices/notify/settings.html",
        {
            "subscriptions": subscriptions,
            "channels": channels,
            "failing": [c for c in channels if c.is_failing],
            "recent": recent,
            "subscription_form": subscription_form or SubscriptionForm(user=user),
            "channel_form": channel_form or ChannelForm(),
        },
        status=status,
    )


@login_required
def subscription_settings(request):
    return _settings_page(request)


@login_required
@require_POST
def subscription_create(request):
    form = SubscriptionForm(request.POST, user=request.user)
    if form.is_valid():
        saved = _saved_or_errors(
            request,
            form,
            lambda: services.subscription_create(owner=request.user, channel=form.channel(), **_follow(form)),
            _("Subscription saved."),
        )
        if saved is not None:
            return saved
    return _settings_page(request, subscription_form=form, status=400)


@login_required
def subscription_edit(request, pk: int):
    subscription = get_object_or_404(Subscription.objects.for_user(request.user), pk=pk)
    initial = {
        "target": str(subscription.channel_id) if subscription.channel_id else EMAIL_TARGET,
        "regions": subscription.regions,
        "systems": subscription.systems,
        "functions": subscription.functions,
        "kinds": subscription.kinds,
        "lead_minutes": subscription.lead_minutes,
    }
    form = SubscriptionForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _saved_or_errors(
            request,
            form,
            lambda: services.subscription_update(subscription=subscription, channel=form.channel(), **_follow(form)),
            _("Subscription saved."),
        )
        if saved is not None:
            return saved
    return render(request, "notices/notify/subscription_edit.html", {"form": form, "subscription": subscription})


@login_required
@require_POST
def subscription_delete(request, pk: int):
    subscription = get_object_or_404(Subscription.objects.for_user(request.user), pk=pk)
    services.subscription_delete(subscription=subscription)
    messages.success(request, _("Subscription removed."))
    return redirect("notices:notify-settings")


@login_required
@require_POST
def channel_create(request):
    form = ChannelForm(request.POST)
    if form.is_valid():
        saved = _saved_or_errors(
            request,
            form,
            lambda: services.channel_create(owner=request.user, **form.cleaned_data),
            _("Channel saved. Its secret will not be shown again."),
        )
        if saved is not None:
            return saved
    return _settings_page(request, channel_form=form, status=400)


@login_required
def channel_edit(request, pk: int):
    channel = get_object_or_404(Channel.objects.for_user(request.user), pk=pk)
    form = ChannelForm(request.POST or None, editing=True, initial={"name": channel.name, "url": channel.url})
    if request.method == "POST" and form.is_valid():
        saved = _saved_or_errors(
            request, form, lambda: services.channel_update(channel=channel, **form.cleaned_data), _("Channel saved.")
        )
        if saved is not None:
            return saved
    return render(request, "notices/notify/channel_edit.html", {"form": form, "channel": channel})


@login_required
@require_POST
def channel_delete(request, pk: int):
    channel = get_object_or_404(Channel.objects.for_user(request.user), pk=pk)
    services.channel_delete(channel=channel)
    messages.success(request, _("Channel removed, with its subscriptions."))
    return redirect("notices:notify-settings")


@login_required
@require_POST
def channel_test(request, pk: int):
    channel = get_object_or_404(Channel.objects.for_user(request.user), pk=pk)
    services.channel_send_test(channel=channel, user=request.user)
    messages.info(request, _("Test message queued; its outcome appears under recent deliveries."))
    return redirect("notices:notify-settings")


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def visitor_subscribe(request):
    form = VisitorSubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.visitor_subscribe(email=form.cleaned_data["email"], client_ip=_client_ip(request), **_follow(form))
        except services.RateLimited:
            form.add_error(None, _("Too many confirmation emails were asked for. Please try again in an hour."))
            return render(request, "notices/notify/subscribe.html", {"form": form}, status=429)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return render(request, "notices/notify/subscribe_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "notices/notify/subscribe.html", {"form": form}, status=400 if form.errors else 200)


def visitor_confirm(request, token: str):
    subscription = services.subscription_confirm(token=token)
    return render(
        request, "notices/notify/confirmed.html", {"subscription": subscription}, status=200 if subscription else 400
    )


def unsubscribe(request, token: str):
    """GET shows one button (mail scanners follow links; they must not unsubscribe anyone); POST — the
    button, or a mail client's RFC 8058 one-click request — removes the subscription."""
    pk = unsubscribe_subscription_id(token)
    if pk is None:
        return render(request, "notices/notify/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        services.subscription_unsubscribe(token=token)
        return render(request, "notices/notify/unsubscribe.html", {"done": True})
    subscription = Subscription.objects.filter(pk=pk).select_related("channel", "owner").first()
    return render(
        request, "notices/notify/unsubscribe.html", {"subscription": subscription, "gone": subscription is None}
    )


@notice_admin_required
def delivery_dashboard(request):
    qs = (
        Delivery.objects.for_user(request.user).select_related("channel", "subscription").order_by("-created_at", "-pk")
    )
    filterset = DeliveryFilter(request.GET or None, queryset=qs, request=request)
    return render(
        request, "notices/notify/deliveries.html", {"filter": filterset, "page": filtered_page(request, filterset)}
    )


@login_required
def delivery_detail(request, pk: int):
    """One delivery with its attempt log (notice admins; others see their own deliveries)."""
    delivery = get_object_or_404(
        Delivery.objects.for_user(request.user).select_related("channel", "subscription"), pk=pk
    )
    return render(
        request,
        "notices/notify/delivery_detail.html",
        {"delivery": delivery, "attempts": delivery.attempt_log.order_by("number")},
    )
