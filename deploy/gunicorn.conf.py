"""gunicorn settings for deploy/web (``gunicorn -c deploy/gunicorn.conf.py``); the command line may override them.

Access lines go to stdout: as JSON objects (portal.gunicorn_log.JsonAccessLogger) when LOG_FORMAT=json, like the
portal's own log lines, else gunicorn's combined format.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "3"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
if (os.environ.get("LOG_FORMAT") or "text").strip().lower() == "json":
    logger_class = "portal.gunicorn_log.JsonAccessLogger"
