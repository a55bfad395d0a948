from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from outage_portal.models import Company, Membership, User, WorkerHeartbeat


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Portal", {"fields": ("display_name",)}))
    list_display = ["username", "display_name", "email", "is_staff"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "region"]
    search_fields = ["name", "credit_code"]
    list_filter = ["region"]
    inlines = [MembershipInline]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at", "hostname"]
