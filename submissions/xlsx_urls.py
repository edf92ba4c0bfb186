"""Excel template download/upload routes (mounted under /submissions/excel/, namespace ``submissions``)."""

from __future__ import annotations

from django.urls import path

from submissions import xlsx_views

urlpatterns = [
    path("template/", xlsx_views.template_download, name="template_download"),
    path("upload/", xlsx_views.template_upload, name="template_upload"),
]
