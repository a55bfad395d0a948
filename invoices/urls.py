from django.urls import path
from rest_framework.routers import SimpleRouter

from invoices import api, views

router = SimpleRouter()
router.register("invoices", api.InvoiceViewSet, basename="invoice")
router.register("tax-records", api.TaxRecordViewSet, basename="tax-record")

urlpatterns: list = [
    path("invoices/", views.invoice_list, name="invoice-list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice-detail"),
]
api_urlpatterns: list = router.urls
