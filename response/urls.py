from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views

app_name = "response"

router = SimpleRouter()
router.register("orders", api.OrderViewSet, basename="order")
router.register("order-proposals", api.ProposalViewSet, basename="order-proposal")
router.register("incident-responses", api.ResponseViewSet, basename="incident-response")
router.register("counterparty-requests", api.RequestViewSet, basename="counterparty-request")

urlpatterns: list = [
    path("response/", views.response_list, name="response-list"),
    path("response/start/", views.response_start, name="response-start"),
    path("response/<int:pk>/", views.response_detail, name="response-detail"),
    path("response/<int:pk>/steps/<int:step_pk>/", views.response_step, name="response-step"),
    path("response/<int:pk>/scope/", views.response_scope, name="response-scope"),
    path("response/<int:pk>/close/", views.response_close, name="response-close"),
    path("response/pause/", views.invoicing_pause, name="response-pause"),
    path("response/resume/", views.invoicing_resume, name="response-resume"),
    path("response/orders/", views.order_list, name="response-order-list"),
    path("response/orders/import/", views.order_import, name="response-order-import"),
    path("response/orders/proposals/<int:gap_pk>/accept/", views.proposal_accept, name="response-proposal-accept"),
    path("response/requests/", views.request_list, name="response-request-list"),
    path("response/requests/prepare/", views.request_prepare, name="response-request-prepare"),
    path("response/requests/<int:pk>/", views.request_detail, name="response-request-detail"),
    path("response/requests/<int:pk>/letter.pdf", views.request_letter_pdf, name="response-request-pdf"),
    path("response/requests/<int:pk>/copies/", views.request_copy_add, name="response-request-copy-add"),
    path(
        "response/requests/<int:pk>/copies/<int:copy_pk>/",
        views.request_copy_download,
        name="response-request-copy",
    ),
    path("response/requests/<int:pk>/<str:action>/", views.request_action, name="response-request-action"),
]
api_urlpatterns: list = router.urls
