"""The demo bureau, plan and data, loaded by ``manage.py load_demo``; the product never imports this app."""
