from django.urls import path
from rest_framework.routers import SimpleRouter

from invoices import api, views

app_name = "invoices"

router = SimpleRouter()
router.register("invoices", api.InvoiceViewSet, basename="invoice")
router.register("tax-records", api.TaxRecordViewSet, basename="tax-record")
router.register("imports", api.ImportBatchViewSet, basename="import")
router.register("tax-sources", api.TaxSourceViewSet, basename="tax-source")

urlpatterns: list = [
    path("invoices/", views.invoice_list, name="invoice-list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice-detail"),
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_upload, name="import-upload"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("imports/<int:pk>/rejected-rows.csv", views.import_rejections_csv, name="import-rejections-csv"),
    path("tax-sources/", views.tax_source_list, name="tax-source-list"),
    path("tax-sources/<int:company_pk>/", views.tax_source_edit, name="tax-source-edit"),
    path("tax-sources/<int:company_pk>/fetch/", views.tax_source_fetch, name="tax-source-fetch-now"),
    path("tax-sources/<int:company_pk>/fetch/status/", views.tax_source_fetch_status, name="tax-source-fetch-status"),
]
api_urlpatterns: list = router.urls
