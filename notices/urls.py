from django.urls import include, path
from rest_framework.routers import SimpleRouter

from notices import api, views
from notices.notify import api as notify_api
from notices.notify import urls as notify_urls
from notices.status import api as status_api
from notices.status import feeds
from notices.status import views as status_views

app_name = "notices"

router = SimpleRouter()
router.register("tax-systems", api.TaxSystemViewSet, basename="tax-system")
router.register("notices", api.NoticeViewSet, basename="notice")
router.register("incidents", api.IncidentViewSet, basename="incident")

# The public status page: the busiest page, so its routes are matched first, without an include.
status_urlpatterns: list = [
    path("status/", status_views.status_page, name="status-page"),
    path("status/calendar/", status_views.status_calendar, name="status-calendar"),
    path("status/feed.rss", feeds.StatusRssFeed(), name="status-rss"),
    path("status/feed.atom", feeds.StatusAtomFeed(), name="status-atom"),
    path("status/maintenance.ics", status_views.status_ical, name="status-ical"),
]

# Notice admins' pages, under one prefix.
manage_urlpatterns: list = [
    path("notices/", views.manage_notice_list, name="manage-notice-list"),
    path("notices/new/", views.manage_notice_new, name="manage-notice-new"),
    path("notices/<int:pk>/edit/", views.manage_notice_edit, name="manage-notice-edit"),
    path("notices/<int:pk>/cancel/", views.manage_notice_cancel, name="manage-notice-cancel"),
    path("notices/<int:pk>/extend/", views.manage_notice_extend, name="manage-notice-extend"),
    path("incidents/", views.manage_incident_list, name="manage-incident-list"),
    path("incidents/new/", views.manage_incident_new, name="manage-incident-new"),
    path("incidents/<int:pk>/", views.manage_incident_detail, name="manage-incident-detail"),
    path("incidents/<int:pk>/edit/", views.manage_incident_edit, name="manage-incident-edit"),
    path("incidents/<int:pk>/update/", views.manage_incident_update, name="manage-incident-update"),
    path("incidents/<int:pk>/resolve/", views.manage_incident_resolve, name="manage-incident-resolve"),
    path("incidents/<int:pk>/postmortem/", views.manage_incident_postmortem, name="manage-incident-postmortem"),
    path("systems/", views.manage_system_list, name="manage-system-list"),
    path("systems/new/", views.manage_system_form, name="manage-system-new"),
    path("systems/<int:pk>/edit/", views.manage_system_form, name="manage-system-edit"),
    path("calendar/", views.manage_calendar, name="manage-calendar"),
    path("calendar/new/", views.manage_deadline_form, name="manage-deadline-new"),
    path("calendar/<int:pk>/edit/", views.manage_deadline_form, name="manage-deadline-edit"),
    path("calendar/<int:pk>/delete/", views.manage_deadline_delete, name="manage-deadline-delete"),
    path("templates/", views.manage_template_list, name="manage-template-list"),
    path("templates/new/", views.manage_template_form, name="manage-template-new"),
    path("templates/<int:pk>/edit/", views.manage_template_form, name="manage-template-edit"),
    path("templates/<int:pk>/delete/", views.manage_template_delete, name="manage-template-delete"),
]

urlpatterns: list = [
    *status_urlpatterns,
    # --- catalogue, notices, incidents ---
    path("systems/<slug:slug>/", views.system_detail, name="system-detail"),
    path("notices/<int:pk>/", views.notice_detail, name="notice-detail"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("manage/", include(manage_urlpatterns)),
    # --- subscriptions, channels, deliveries ---
    *notify_urls.urlpatterns,
]

api_urlpatterns: list = [
    # --- catalogue, notices, incidents, status ---
    *router.urls,
    path("status/", status_api.StatusView.as_view(), name="api-status"),
    # --- subscriptions, deliveries ---
    *notify_api.router.urls,
]
