from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import api, views

router = SimpleRouter()
router.register("deferred-filings", api.DeferredFilingViewSet, basename="deferred-filing")

urlpatterns: list = [
    path("recovery/deferred-filing/", views.deferred_list, name="deferred-filing-list"),
    path("recovery/deferred-filing/new/", views.deferred_edit, name="deferred-filing-new"),
    path("recovery/deferred-filing/<int:pk>/", views.deferred_detail, name="deferred-filing-detail"),
    path("recovery/deferred-filing/<int:pk>/edit/", views.deferred_edit, name="deferred-filing-edit"),
    path("recovery/deferred-filing/<int:pk>/application.pdf", views.deferred_pdf, name="deferred-filing-pdf"),
    re_path(
        r"^recovery/deferred-filing/(?P<pk>[0-9]+)/(?P<action>submit|approve|return|close)/$",
        views.deferred_transition,
        name="deferred-filing-transition",
    ),
]
api_urlpatterns: list = router.urls
