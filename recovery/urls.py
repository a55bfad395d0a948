from django.urls import path

from . import views

urlpatterns: list = [
    path("recovery/gaps/", views.gap_list, name="recovery-gap-list"),
    path("recovery/gaps/bulk/", views.gap_bulk, name="recovery-gap-bulk"),
    path("recovery/gaps/export.csv", views.gap_export, {"fmt": "csv"}, name="recovery-gap-export-csv"),
    path("recovery/gaps/export.xlsx", views.gap_export, {"fmt": "xlsx"}, name="recovery-gap-export-xlsx"),
]
api_urlpatterns: list = []
