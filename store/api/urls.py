"""Routes of the store API."""

from __future__ import annotations

from django.urls import path

from store.api import views

urlpatterns = [
    path("store/items", views.StoreItemApi.as_view()),
    path("store/items/search", views.StoreSearchApi.as_view()),
    path("store/namespaces", views.StoreNamespacesApi.as_view()),
]
