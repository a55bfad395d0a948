"""Root URLs. The only place besides the Celery app that names the apps.

Each app's urls.py has `urlpatterns` (pages) and `api_urlpatterns` (mounted under /api/).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

import invoices.urls
import notices.urls
import recovery.urls
import recovery.views
from outage_portal import api, views

router = DefaultRouter()
router.register("companies", api.CompanyViewSet, basename="company")

urlpatterns = [
    path("", recovery.views.dashboard, name="home"),
    path("companies/", views.company_list, name="company-list"),
    path("companies/<int:pk>/", views.company_detail, name="company-detail"),
    path("health/", views.health, name="health"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # No OPTIONS: its metadata would go through the page's HTML template renderer, which has no
        # template for it (a 500); answered 405 instead.
        SpectacularSwaggerView.as_view(url_name="api-schema", metadata_class=None),
        name="api-docs",
    ),
    path("api/token/", obtain_auth_token, name="api-token"),
    path("api/", include(router.urls)),
    path("api/", include(notices.urls.api_urlpatterns)),
    path("api/", include(invoices.urls.api_urlpatterns)),
    path("api/", include(recovery.urls.api_urlpatterns)),
    path("", include(notices.urls.urlpatterns)),
    path("", include(invoices.urls.urlpatterns)),
    path("", include(recovery.urls.urlpatterns)),
]

# A form with more files than DATA_UPLOAD_MAX_NUMBER_FILES gets a page that says so.
handler400 = "outage_portal.views.bad_request"
