from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import api, views

router = SimpleRouter()
router.register("reissue-requests", api.ReissueRequestViewSet, basename="reissue-request")
router.register("reissue-evidence", api.ReissueEvidenceViewSet, basename="reissue-evidence")
router.register("hand-issued-invoices", api.HandIssuedInvoiceViewSet, basename="hand-issued-invoice")

urlpatterns: list = [
    path("recovery/reissue/", views.request_list, name="reissue-request-list"),
    path("recovery/reissue/new/", views.request_edit, name="reissue-request-new"),
    path("recovery/reissue/<int:pk>/", views.request_detail, name="reissue-request-detail"),
    path("recovery/reissue/<int:pk>/edit/", views.request_edit, name="reissue-request-edit"),
    re_path(
        r"^recovery/reissue/(?P<pk>[0-9]+)/(?P<action>submit|approve|return|record-reissued|close|withdraw|confirm-reissue)/$",
        views.request_transition,
        name="reissue-request-transition",
    ),
    path(
        "recovery/reissue/<int:pk>/evidence/<int:evidence_pk>/",
        views.evidence_download,
        name="reissue-request-evidence",
    ),
    path(
        "recovery/reissue/<int:pk>/evidence/<int:evidence_pk>/remove/",
        views.evidence_remove,
        name="reissue-request-evidence-remove",
    ),
    path("recovery/reissue/<int:pk>/print/", views.request_print, name="reissue-request-print"),
    path("recovery/reissue/<int:pk>/pack.pdf", views.request_pack, {"fmt": "pdf"}, name="reissue-request-pdf"),
    path("recovery/reissue/<int:pk>/pack.zip", views.request_pack, {"fmt": "zip"}, name="reissue-request-zip"),
    path("recovery/hand-issued/", views.hand_issued_list, name="hand-issued-list"),
    path("recovery/hand-issued/new/", views.hand_issued_new, name="hand-issued-new"),
    path("recovery/hand-issued/<int:pk>/scan/", views.hand_issued_scan, name="hand-issued-scan"),
]
api_urlpatterns: list = router.urls
