from django.urls import path  # noqa: F401

urlpatterns: list = [
    # --- catalogue, notices, incidents, status, feeds ---
    # --- subscriptions, channels, deliveries ---
]

api_urlpatterns: list = [
    # --- catalogue, notices, incidents, status ---
    # --- subscriptions, deliveries ---
]
