"""Routes of plans' own pages. Not included on its own: targets/plan_urls.py serves these together with
the plan page and the target pages under /plans/ in the one "plans" namespace (they sit above plans)."""

from django.urls import path

from plans import views

urlpatterns = [
    path("", views.PlanListView.as_view(), name="plan_list"),
    path("new/", views.plan_create, name="plan_create"),
    path("<slug:code>/edit/", views.plan_update, name="plan_update"),
    path("<slug:code>/sections/new/", views.section_edit, name="section_create"),
    path("<slug:code>/sections/<slug:section>/edit/", views.section_edit, name="section_update"),
    path("<slug:code>/work-items/new/", views.workitem_edit, name="workitem_create"),
    path("<slug:code>/work-items/<int:pk>/edit/", views.workitem_edit, name="workitem_update"),
]
