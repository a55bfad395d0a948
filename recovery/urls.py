from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views
from .deferred import urls as deferred_urls
from .reissue import urls as reissue_urls

app_name = "recovery"

router = SimpleRouter()
router.register("reconciliation-runs", api.RunViewSet, basename="reconciliation-run")
router.register("gaps", api.GapViewSet, basename="gap")
router.register("reconciliation-alerts", api.AlertViewSet, basename="reconciliation-alert")

urlpatterns: list = [
    path("recovery/gaps/", views.gap_list, name="recovery-gap-list"),
    path("recovery/gaps/bulk/", views.gap_bulk, name="recovery-gap-bulk"),
    path("recovery/gaps/<int:pk>/", views.gap_detail, name="recovery-gap-detail"),
    path("recovery/gaps/<int:pk>/act/", views.gap_act, name="recovery-gap-act"),
    path("recovery/gaps/export.csv", views.gap_export, {"fmt": "csv"}, name="recovery-gap-export-csv"),
    path("recovery/gaps/export.xlsx", views.gap_export, {"fmt": "xlsx"}, name="recovery-gap-export-xlsx"),
    path("recovery/runs/", views.run_list, name="recovery-run-list"),
    path("recovery/runs/<int:pk>/", views.run_detail, name="recovery-run-detail"),
]
urlpatterns += reissue_urls.urlpatterns  # reissue requests, hand-issued invoices
urlpatterns += deferred_urls.urlpatterns
api_urlpatterns: list = router.urls + reissue_urls.api_urlpatterns + deferred_urls.api_urlpatterns
