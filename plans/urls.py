from django.urls import path

from plans import views
from targets import draft_views

app_name = "plans"

urlpatterns = [
    path("", views.PlanListView.as_view(), name="plan_list"),
    path("new/", views.plan_create, name="plan_create"),
    path("import/", views.plan_import, name="plan_import"),
    path("import-document/", draft_views.draft_create, name="draft_create"),
    path("drafts/<int:pk>/", draft_views.draft_review, name="draft_review"),
    path("my-targets/", views.my_targets, name="my_targets"),
    path("<slug:code>/", views.plan_detail, name="plan_detail"),
    path("<slug:code>/edit/", views.plan_update, name="plan_update"),
    path("<slug:code>/export.xlsx", views.plan_export, name="plan_export"),
    path("<slug:code>/sections/new/", views.section_edit, name="section_create"),
    path("<slug:code>/sections/<slug:section>/edit/", views.section_edit, name="section_update"),
    path("<slug:code>/work-items/new/", views.workitem_edit, name="workitem_create"),
    path("<slug:code>/work-items/<int:pk>/edit/", views.workitem_edit, name="workitem_update"),
    path("<slug:code>/targets/new/", views.target_edit, name="target_create"),
    path("<slug:code>/targets/preview/", views.target_preview, name="target_preview"),
    path("<slug:code>/targets/<slug:target>/edit/", views.target_edit, name="target_update"),
    path("<slug:code>/targets/<slug:target>/path/", views.target_path, name="target_path"),
    path("<slug:code>/targets/<slug:target>/notes/", views.target_notes, name="target_notes"),
    path("<slug:code>/targets/<slug:target>/notes/<int:pk>/review/", views.note_review, name="note_review"),
]
