"""Everything under /plans/, in the "plans" namespace: plans' own pages (plans/urls.py) and the pages that
show or edit a plan's targets (targets.views). One namespace keeps every URL and URL name as it was;
it is assembled here because targets may import plans, not the other way round."""

from django.urls import path

from plans import urls as plan_urls
from targets import draft_views, plan_copy_views, views

app_name = "plans"

urlpatterns = [
    *plan_urls.urlpatterns,
    path("import/", views.plan_import, name="plan_import"),
    path("import-document/", draft_views.draft_create, name="draft_create"),
    path("drafts/<int:pk>/", draft_views.draft_review, name="draft_review"),
    path("my-targets/", views.my_targets, name="my_targets"),
    path("<slug:code>/", views.plan_detail, name="plan_detail"),
    path("<slug:code>/export.xlsx", views.plan_export, name="plan_export"),
    path("<slug:code>/copy/", plan_copy_views.plan_copy, name="plan_copy"),
    path("<slug:code>/targets/new/", views.target_edit, name="target_create"),
    path("<slug:code>/targets/preview/", views.target_preview, name="target_preview"),
    path("<slug:code>/targets/<slug:target>/edit/", views.target_edit, name="target_update"),
    path("<slug:code>/targets/<slug:target>/path/", views.target_path, name="target_path"),
    path("<slug:code>/targets/<slug:target>/notes/", views.target_notes, name="target_notes"),
    path("<slug:code>/targets/<slug:target>/notes/<int:pk>/review/", views.note_review, name="note_review"),
    path("<slug:code>/targets/<slug:target>/notes/<int:pk>/evidence/", views.note_evidence, name="note_evidence"),
]
