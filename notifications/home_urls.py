"""The home page (the to-do home), mounted at / by portal/urls.py under its plain name "home"."""

from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.home, name="home"),
]
