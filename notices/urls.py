from django.urls import path

from notices import views
from notices.notify import api as notify_api
from notices.notify import urls as notify_urls

urlpatterns: list = [
    # --- catalogue, notices, incidents, status, feeds ---
    path("systems/<slug:slug>/", views.system_detail, name="system-detail"),
    path("notices/<int:pk>/", views.notice_detail, name="notice-detail"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    # --- subscriptions, channels, deliveries ---
    *notify_urls.urlpatterns,
]

api_urlpatterns: list = [
    # --- catalogue, notices, incidents, status ---
    # --- subscriptions, deliveries ---
    *notify_api.router.urls,
]
