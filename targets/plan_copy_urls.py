"""/plans/<code>/copy/: copying a plan to a new year (a targets page: it creates targets; mounted by portal/urls.py)."""

from django.urls import path

from targets import plan_copy_views

urlpatterns = [path("<slug:code>/copy/", plan_copy_views.plan_copy, name="plan_copy")]
