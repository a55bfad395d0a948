"""Root URLs. The only place besides the Celery app that names the apps.

Each app's urls.py has `urlpatterns` (pages) and `api_urlpatterns` (mounted under /api/).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

import invoices.urls
import notices.urls
import recovery.urls
import recovery.views
import response.urls
from outage_portal import api, apitokens, views

router = DefaultRouter()
router.register("companies", api.CompanyViewSet, basename="company")

# The project's own pages: {% url 'portal:home' %}. Auth views keep Django's bare names.
portal_urlpatterns = [
    path("", recovery.views.dashboard, name="home"),
    path("companies/", views.company_list, name="company-page-list"),
    path("companies/<int:pk>/", views.company_detail, name="company-page-detail"),
    path("health/", views.health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", views.api_docs, name="api-docs"),
    path("api/redoc/", views.api_redoc, name="api-redoc"),
    path("api/token/", apitokens.TokenView.as_view(), name="api-token"),
    path("api/token/revoke/", apitokens.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("api/token/revoke-all/", apitokens.TokenRevokeAllView.as_view(), name="api-token-revoke-all"),
]

# Every API route under one namespace, so reverse("api:invoice-list") and DRF's own reversing
# (request.resolver_match.namespace) find them all.
api_urlpatterns = [
    *router.urls,
    *notices.urls.api_urlpatterns,
    *invoices.urls.api_urlpatterns,
    *recovery.urls.api_urlpatterns,
    *response.urls.api_urlpatterns,
]

# URLs are matched in order, and each level of include costs: the notices' routes come first, and
# the public status page (the busiest page) is their first, one level down.
urlpatterns = [
    path("", include((notices.urls.urlpatterns, "notices"))),
    path("", include((portal_urlpatterns, "portal"))),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include((api_urlpatterns, "api"))),
    path("", include((invoices.urls.urlpatterns, "invoices"))),
    path("", include((recovery.urls.urlpatterns, "recovery"))),
    path("", include((response.urls.urlpatterns, "response"))),
]

# A form with more files than DATA_UPLOAD_MAX_NUMBER_FILES gets a page that says so.
handler400 = "outage_portal.views.bad_request"
