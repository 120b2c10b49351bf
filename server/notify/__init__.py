"""Notifications: the outbox, the message templates, the mailer, and ``enqueue()``.

Every message to a person is first an ``outbox`` row written by ``outbox.enqueue`` in the
transaction of the change that caused it (a scheduler dispatch, a password-reset request, ...).
With the embedded default the outbox is the destination; with SMTP the mailer drains it.

``setup(app)`` puts the configured notifier under ``NOTIFIER_KEY`` for the packages that
enqueue and for the mailer's owner (the scheduling service drives the mailer's job).
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import SETTINGS_KEY
from server.notify.mailer import Notifier, notifier_from_settings

NOTIFIER_KEY: web.AppKey[Notifier] = web.AppKey("notifier")


def setup(app: web.Application) -> None:
    app[NOTIFIER_KEY] = notifier_from_settings(app[SETTINGS_KEY])
