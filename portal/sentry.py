"""Error reports to Sentry when SENTRY_DSN is set; sentry-sdk is an optional dependency (pip install .[sentry])."""

from __future__ import annotations

from portal import env


def init_sentry(dsn: str, environment: str) -> bool:
    """Start the Sentry SDK with the Django and Celery integrations; report a missing SDK as a setting error."""
    try:
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError:
        env.report("SENTRY_DSN", "SENTRY_DSN is set but sentry-sdk is not installed (pip install .[sentry])")
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Figures and names typed by schools stay in the bureau: no request bodies, cookies or user e-mails.
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
    )
    return True
