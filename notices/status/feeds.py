"""RSS and Atom feeds of maintenance notices and incidents (filters: region, system, function)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.exceptions import BadRequest
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html
from django.utils.translation import gettext as _

from notices.grid import function_labels, functions_include_any
from notices.models import Incident, IncidentUpdate, MaintenanceNotice, NoticeState
from notices.status.filters import status_scope
from outage_portal.timefmt import local_text

FEED_ITEMS = 50


class StatusFeed(Feed):
    """Notices and incidents, most recently changed first; a revised notice is the same item, updated."""

    def get_object(self, request):
        scope = status_scope(request.GET)
        if not scope.is_valid():
            raise BadRequest(scope.error_message())
        self.query = request.GET.urlencode()
        return scope

    def title(self, scope):
        return _("Tax system maintenance and incidents")

    def description(self, scope):
        return _("Maintenance windows and outages of the regional tax systems. Times are Asia/Shanghai.")

    subtitle = description

    def link(self, scope):
        return reverse("notices:status-page")

    def feed_url(self, scope):
        url = reverse(self.url_name)
        return f"{url}?{self.query}" if self.query else url

    def items(self, scope):
        systems = scope.qs
        functions = functions_include_any(scope.functions)
        notices = list(
            MaintenanceNotice.objects.filter(system__in=systems)
            .filter(functions)
            .select_related("system")
            .order_by("-updated_at", "-pk")[:FEED_ITEMS]
        )
        latest_first = IncidentUpdate.objects.order_by("-posted_at", "-pk")
        incidents = list(
            Incident.objects.filter(system__in=systems)
            .filter(functions)
            .select_related("system")
            .prefetch_related(Prefetch("updates", queryset=latest_first, to_attr="updates_latest_first"))
            .order_by("-updated_at", "-pk")[:FEED_ITEMS]
        )
        items = sorted(notices + incidents, key=lambda item: item.updated_at, reverse=True)
        return items[:FEED_ITEMS]

    def item_title(self, item):
        if isinstance(item, MaintenanceNotice):
            kind = _("Cancelled") if item.state == NoticeState.CANCELLED else _("Maintenance")
        else:
            kind = f"{_('Incident')} · {item.get_severity_display()}"
        return f"[{kind}] {item.system}: {item.title}"

    def item_description(self, item):
        functions = "、".join(function_labels(item.functions))
        if isinstance(item, MaintenanceNotice):
            head = format_html(
                "<p>{}: {} – {}<br>{}: {}<br>{}: {}</p>",
                _("Window"),
                local_text(item.window_start),
                local_text(item.window_end),
                _("Affected functions"),
                functions,
                _("State"),
                item.get_state_display(),
            )
            return head + item.body_html  # sanitised when the notice was saved
        ended = local_text(item.ended_at) if item.ended_at else _("ongoing")
        head = format_html(
            "<p>{}: {} – {}<br>{}: {}<br>{}: {}</p>",
            _("Outage"),
            local_text(item.started_at),
            ended,
            _("Affected functions"),
            functions,
            _("State"),
            item.get_state_display(),
        )
        latest = item.updates_latest_first[0].body_html if item.updates_latest_first else ""
        summary = format_html("<p>{}</p>", item.impact_summary) if item.impact_summary else ""
        return head + summary + latest

    def item_link(self, item):
        return item.get_absolute_url()

    def item_guid(self, item):
        # The item's page on SITE_URL: the same whatever host the feed was fetched through.
        return settings.SITE_URL + item.get_absolute_url()

    def item_pubdate(self, item):
        return item.published_at if isinstance(item, MaintenanceNotice) else item.created_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [item.system.region, *function_labels(item.functions)]


class StatusRssFeed(StatusFeed):
    url_name = "notices:status-rss"


class StatusAtomFeed(StatusFeed):
    url_name = "notices:status-atom"
    feed_type = Atom1Feed
