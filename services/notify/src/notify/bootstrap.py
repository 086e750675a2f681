"""The only place that names notify's concrete adapters."""

from collections.abc import Mapping
from functools import partial
from pathlib import Path

import httpx

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.keys import HttpKeySource
from servicekit.oidc_client import auth_from_settings
from servicekit.runtime import ServiceRuntime, assemble
from servicekit.settings import ServiceSettings

from notify.adapters import orm
from notify.adapters.email import FolderEmail, SmtpEmail
from notify.adapters.files import SentCopies
from notify.adapters.gdpr_links import ImporterGdprLinks
from notify.adapters.repository import SetupCache
from notify.adapters.sms import FolderSms, HttpSms
from notify.config import NotifySettings, notify_settings
from notify.entrypoints import api, consumers
from notify.service_layer.delivery import Channel, Postman
from notify.service_layer import gdpr, outcomes, projections
from notify.service_layer.handlers import EVENT_HANDLERS
from notify.service_layer.setup import RESTORERS
from notify.service_layer.unit_of_work import NotifyUnitOfWork

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def channels(settings: NotifySettings, sms_transport: httpx.AsyncBaseTransport | None = None) -> dict[str, Channel]:
    """E-mail over SMTP or into a folder; SMS through the provider chosen in the settings."""
    folder = settings.outbox_folder
    if settings.email_transport == "smtp":
        if not settings.smtp_host:
            raise ValueError("PRESTAFLOW_NOTIFY_EMAIL=smtp demande PRESTAFLOW_SMTP_HOST")
        email: Channel = SmtpEmail(
            settings.smtp_host, settings.smtp_port, settings.smtp_tls, settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None, settings.mail_from,
            settings.mail_reply_to, settings.smtp_timeout_seconds)
    else:
        email = FolderEmail(folder, settings.mail_from, settings.mail_reply_to)
    if settings.sms_provider == "folder":
        sms: Channel = FolderSms(folder)
    else:
        sms = HttpSms(settings.sms_provider, settings.sms_url,
                      settings.sms_api_key.get_secret_value() if settings.sms_api_key else None,
                      settings.sms_sender, transport=sms_transport)
    return {"email": email, "sms": sms}


def bootstrap(bus: Bus, settings: ServiceSettings | None = None, clock: Clock | None = None, *,
              importer_transport: httpx.AsyncBaseTransport | None = None,
              channels_override: Mapping[str, Channel] | None = None) -> ServiceRuntime:
    """Notify's runtime. Keys come from importer's API at ``PRESTAFLOW_IMPORTER_URL``, or through
    ``importer_transport`` (the embedded runner's ``httpx.ASGITransport``; it may also be set later on
    ``runtime.key_source.transport``). ``channels_override`` replaces the e-mail/SMS adapters (tests)."""
    settings = notify_settings(settings)
    key_source = HttpKeySource(settings.importer_url, importer_transport, auth_from_settings(settings))
    holder: list[Postman] = []
    uow_class = partial(NotifyUnitOfWork, on_due=lambda: holder and holder[0].wake(), setup_cache=SetupCache(),
                        sent_copies=SentCopies(settings.outbox_folder))
    # Serialized: importer's events (appointments) and planning's (their actions) are linked by
    # reading what the other topic's handlers wrote; two transactions at once lost the link.
    runtime = assemble(NAME, settings, bus, orm.metadata, orm.kit, MIGRATIONS, EVENT_HANDLERS,
                       consumers.SUBSCRIPTIONS, uow_class, clock, serialized_events=True)
    runtime.key_source = key_source
    # An audit replay restores the set-up and the postman's outcomes from notify's own events (OPS-04),
    # unsealing contacts with the keys the audit gives (it replaces ``key_source``); what was sent and
    # the servers' answers are never in the log: out of the digest, with their reasons.
    runtime.restorers = (RESTORERS | outcomes.restorers(lambda: runtime.key_source) | gdpr.RESTORERS
                         | projections.RESTORERS)
    runtime.unreplayable = outcomes.UNREPLAYABLE
    postman = Postman(runtime.uow_factory, channels_override or channels(settings), settings, runtime.clock, key_source,
                      ImporterGdprLinks(key_source))
    holder.append(postman)
    runtime.postman = postman  # the outbox of messages: ``await runtime.postman.send_due()``
    runtime.router = api.build_router(runtime, postman, settings)
    # NOT-02: rule messages are due at 19:00 (Paris) and system messages at once: the postman sends
    # what is due whenever woken by a commit, and at least every PRESTAFLOW_NOTIFY_POLL_SECONDS.
    runtime.periodic.append((0, postman.tick))
    return runtime
