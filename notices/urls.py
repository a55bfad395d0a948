from django.conf import settings
from django.urls import path

from notices import feeds, status_api, status_views, views

urlpatterns: list = [
    # --- catalogue, notices, incidents, status, feeds ---
    path("systems/<slug:slug>/", views.system_detail, name="system-detail"),
    path("notices/<int:pk>/", views.notice_detail, name="notice-detail"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("status/", status_views.status_page, name="status-page"),
    path("status/calendar/", status_views.status_calendar, name="status-calendar"),
    path("status/feed.rss", feeds.StatusRssFeed(), name="status-rss"),
    path("status/feed.atom", feeds.StatusAtomFeed(), name="status-atom"),
    path("status/maintenance.ics", status_views.status_ical, name="status-ical"),
    # --- subscriptions, channels, deliveries ---
]

api_urlpatterns: list = [
    # --- catalogue, notices, incidents, status ---
    path("status/", status_api.StatusView.as_view(), name="api-status"),
    # --- subscriptions, deliveries ---
]

if settings.BENCH_ENDPOINTS:  # bench/bench_status_page.py's floor: a constant response on the same server
    urlpatterns.append(path("bench/constant/", status_views.bench_constant, name="bench-constant"))
