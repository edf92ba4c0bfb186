from django.contrib import admin  # noqa: F401  (models registered by their issue)
