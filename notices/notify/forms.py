"""Forms for the subscription settings page and the public sign-up. Secrets are write-only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notices.events import EventKind
from notices.grid import Function
from notices.models import TaxSystem
from notices.notify.models import CHANNEL_KINDS_STORED, DEFAULT_LEAD_MINUTES, Channel

from .services import COMPANY_KINDS

LEAD_CHOICES = [
    (7 * 1440, _("7 days before")),
    (3 * 1440, _("3 days before")),
    (1440, _("24 hours before")),
    (240, _("4 hours before")),
    (60, _("1 hour before")),
    (15, _("15 minutes before")),
]
EMAIL_TARGET = "email"


class _FollowFields(forms.Form):
    """What a subscription follows: the grid cells, the event kinds, the reminder lead times."""

    regions = forms.MultipleChoiceField(
        label=_("Regions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: all regions."),
    )
    systems = forms.MultipleChoiceField(
        label=_("Systems"), required=False, help_text=_("None chosen: every system in the chosen regions.")
    )
    functions = forms.MultipleChoiceField(
        label=_("Functions"),
        required=False,
        choices=Function.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: all functions."),
    )
    kinds = forms.MultipleChoiceField(label=_("Events"), widget=forms.CheckboxSelectMultiple)
    lead_minutes = forms.TypedMultipleChoiceField(
        label=_("Reminders"),
        required=False,
        coerce=int,
        choices=LEAD_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=DEFAULT_LEAD_MINUTES,
    )

    def __init__(self, *args, company_kinds: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = [(r, r) for r in TaxSystem.objects.active().regions()]
        self.fields["systems"].choices = [(s.slug, str(s)) for s in TaxSystem.objects.active()]
        self.fields["kinds"].choices = [
            (k.value, k.label) for k in EventKind if company_kinds or k not in COMPANY_KINDS
        ]
        self.fields["kinds"].initial = [
            EventKind.NOTICE_PUBLISHED,
            EventKind.NOTICE_CHANGED,
            EventKind.NOTICE_CANCELLED,
            EventKind.WINDOW_STARTING_SOON,
            EventKind.INCIDENT_OPENED,
            EventKind.INCIDENT_RESOLVED,
        ] + ([EventKind.RECONCILIATION_GAPS] if company_kinds else [])


class SubscriptionForm(_FollowFields):
    target = forms.ChoiceField(label=_("Send to"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, company_kinds=user.memberships.exists(), **kwargs)
        self.channels = {str(c.pk): c for c in Channel.objects.for_user(user)}
        choices = []
        if user.email:
            choices.append((EMAIL_TARGET, _("My email (%(email)s)") % {"email": user.email}))
        choices += [(pk, str(c)) for pk, c in self.channels.items()]
        self.fields["target"].choices = choices

    def channel(self) -> Channel | None:
        return self.channels.get(self.cleaned_data["target"])


class VisitorSubscribeForm(_FollowFields):
    email = forms.EmailField(label=_("Email"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, company_kinds=False, **kwargs)
        self.order_fields(["email"])


class ChannelForm(forms.Form):
    # Its own context: django-celery-beat's catalogue translates a bare "Name" as 任务名 (task name).
    name = forms.CharField(label=pgettext_lazy("channel", "Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in CHANNEL_KINDS_STORED])
    url = forms.URLField(
        label=_("Address"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "WeCom robots: https://qyapi.weixin.qq.com/…; DingTalk robots: https://oapi.dingtalk.com/…; "
            "webhooks: your receiver's public http:// or https:// address."
        ),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "DingTalk: the robot's signing secret (optional). Webhook: at least 16 characters, used to sign "
            "every request. Never shown again; leave empty to keep the stored one."
        ),
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["kind"]
