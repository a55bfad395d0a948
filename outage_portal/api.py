"""Company endpoints of the REST API."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets

from outage_portal import services
from outage_portal.models import Company, Membership, Role
from outage_portal.roles import has_role


class OwnCompanyField(serializers.PrimaryKeyRelatedField):
    """A company id among the requesting user's own companies: another company's id is refused with
    the same 400 as an id that does not exist, so a write is no way to learn which ids exist."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Company.objects.all())  # for the schema; requests use get_queryset
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Company.objects.none()
        return Company.objects.for_user(request.user)


class CompanySerializer(serializers.ModelSerializer):
    my_roles = serializers.SerializerMethodField()
    # A city or the bureau's full name is accepted too: the service resolves 西安 to 陕西.
    region = serializers.CharField(max_length=50, required=False, help_text="Tax bureau, e.g. 陕西 or 西安")

    class Meta:
        model = Company
        fields = ["id", "name", "credit_code", "region", "my_roles"]
        read_only_fields = ["id", "credit_code", "my_roles"]

    def get_my_roles(self, company) -> list[str]:
        return sorted(m.role for m in company.my_memberships)


class IsCompanyAdminForWrites(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return has_role(request.user, obj, Role.COMPANY_ADMIN)


@extend_schema_view(
    list=extend_schema(summary="Companies the caller belongs to"),
    retrieve=extend_schema(summary="One company"),
    partial_update=extend_schema(summary="Rename a company or change its region (company admins)"),
)
class CompanyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CompanySerializer
    permission_classes = [permissions.IsAuthenticated, IsCompanyAdminForWrites]
    http_method_names = ["get", "patch", "head", "options"]
    filterset_fields = ["region"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Company.objects.none()
        return Company.objects.for_user(self.request.user).prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(user=self.request.user),
                to_attr="my_memberships",
            )
        )

    def perform_update(self, serializer):
        company = serializer.instance
        data = serializer.validated_data
        services.company_update(
            company=company,
            name=data.get("name", company.name),
            region=data.get("region", company.region),
        )
