from django.contrib import admin

from .models import CounterpartyRequest, IncidentResponse, InvoicingPause


@admin.register(IncidentResponse)
class IncidentResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "company", "state", "created_at"]
    list_filter = ["state"]
    search_fields = ["title", "company__name"]


@admin.register(InvoicingPause)
class InvoicingPauseAdmin(admin.ModelAdmin):
    list_display = ["company", "paused_at", "lifted_at"]


@admin.register(CounterpartyRequest)
class CounterpartyRequestAdmin(admin.ModelAdmin):
    list_display = ["counterparty_name", "company", "state", "created_at"]
    list_filter = ["state"]
