"""Excel template download/upload routes (mounted under /submissions/excel/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
