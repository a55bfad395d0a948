from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import views

urlpatterns: list = [
    path("subscriptions/", views.subscription_settings, name="notify-settings"),
    path("subscriptions/new/", views.subscription_create, name="notify-subscription-create"),
    path("subscriptions/<int:pk>/", views.subscription_edit, name="notify-subscription-edit"),
    path("subscriptions/<int:pk>/delete/", views.subscription_delete, name="notify-subscription-delete"),
    path("subscriptions/channels/new/", views.channel_create, name="notify-channel-create"),
    path("subscriptions/channels/<int:pk>/", views.channel_edit, name="notify-channel-edit"),
    path("subscriptions/channels/<int:pk>/delete/", views.channel_delete, name="notify-channel-delete"),
    path("subscriptions/channels/<int:pk>/test/", views.channel_test, name="notify-channel-test"),
    path("subscriptions/deliveries/", views.delivery_dashboard, name="notify-deliveries"),
    path("subscriptions/deliveries/<int:pk>/", views.delivery_detail, name="notify-delivery-detail"),
    path("subscribe/", views.visitor_subscribe, name="notify-subscribe"),
    path("subscribe/confirm/<str:token>/", views.visitor_confirm, name="notify-confirm"),
    # Mail clients POST here for one-click unsubscribe (RFC 8058) without a CSRF token; the signed
    # token is the authorisation.
    path("unsubscribe/<str:token>/", csrf_exempt(views.unsubscribe), name="notify-unsubscribe"),
]
