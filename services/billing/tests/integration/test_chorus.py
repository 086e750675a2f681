"""Chorus Pro deposits (BIL-07, BIL-12) against a fake Chorus Pro on loopback (tests/support/chorus_fake.py):
tokens, deposits, reports read until integrated or rejected, transient failures retried as configured;
without credentials the night's flows are written to a folder."""

import hashlib

from sqlalchemy import select, update

from contracts import Envelope
from contracts.registry import parse_event

from billing.adapters import orm
from billing.adapters.chorus import ChorusApi
from billing.service_layer import invoicing

from billing_support import InProcessSettings, close, closed
from chorus_fake import FakeChorus, Script


async def issue_all(runtime, keys, *enrolments: str) -> dict[str, str]:
    await close(runtime, keys, *[closed(e) for e in enrolments])
    numbers = {}
    for row in await invoicing.pending(runtime.uow_factory()):
        result = await invoicing.issue_invoice(invoicing.IssueInvoice(row["id"]), runtime.uow_factory(),
                                               runtime.invoicing)
        numbers[row["enrolment_id"]] = result["number"]
    return numbers


def with_chorus(runtime, fake: FakeChorus, **more) -> None:
    runtime.settings = InProcessSettings(**(runtime.settings.model_dump() | fake.settings() | more))
    runtime.chorus = ChorusApi(runtime.settings)


async def states(runtime) -> dict[str, tuple]:
    return {r["number"]: (r["chorus_status"], r["chorus_reason"], r["chorus_attempts"])
            for r in await invoicing.issued(runtime.uow_factory())}


async def event_types(runtime) -> list[str]:
    async with runtime.uow_factory() as uow:
        outbox = runtime.tables.outbox
        return list((await uow.session.execute(select(outbox.c.type).order_by(outbox.c.id))).scalars())


async def test_bil12_without_credentials_the_nights_flows_are_written_to_a_folder(pg_billing, keys):
    numbers = await issue_all(pg_billing, keys, "e1", "e2")
    result = await pg_billing.deposit()
    assert result["mode"] == "folder"
    night = pg_billing.settings.chorus_outbox / "2025-04-15"
    assert sorted(p.name for p in night.iterdir()) == sorted(f"{n}.pdf" for n in numbers.values())
    assert all((night / f"{n}.pdf").read_bytes().startswith(b"%PDF-") for n in numbers.values())
    assert {s for s, _r, _a in (await states(pg_billing)).values()} == {"written"}
    assert (await pg_billing.deposit())["lines"] == []  # written once
    # OPS-04: each writing is an event, with the PDF's SHA-256 and size (the PDF names the person).
    async with pg_billing.uow_factory() as uow:
        outbox = pg_billing.tables.outbox
        written = [e["payload"]["items"] for e in (await uow.session.execute(
            select(outbox.c.envelope).where(outbox.c.type == "InvoiceWritten"))).scalars()]
    items = {i["number"]: i for batch in written for i in batch}
    assert set(items) == set(numbers.values())
    for number, item in items.items():
        pdf = (night / f"{number}.pdf").read_bytes()
        assert (item["pdf_sha256"], item["pdf_size"]) == (hashlib.sha256(pdf).hexdigest(), len(pdf))


async def test_bil07_bil12_deposit_report_rejection_and_transient_failures(pg_billing, keys):
    numbers = await issue_all(pg_billing, keys, "a", "b", "c", "d")
    script = Script(rejections={numbers["b"]: "Code service FT-DR-HDF inconnu pour ce destinataire"},
                    unavailable={numbers["c"]: 2, numbers["d"]: -1}, polls_before_done=2)
    with FakeChorus(script) as fake:
        with_chorus(pg_billing, fake, chorus_attempts=4, chorus_polls=3)
        await pg_billing.deposit()
        after_first = await states(pg_billing)
        assert after_first[numbers["a"]][0] == "integrated"
        assert after_first[numbers["b"]][:2] == ("rejected", "Code service FT-DR-HDF inconnu pour ce destinataire")
        assert after_first[numbers["c"]][0] == "integrated"  # two 503 answers, then accepted
        assert after_first[numbers["d"]][0] == "failed" and "HTTP 503" in after_first[numbers["d"]][1]
        assert fake.calls[f"deposit:{numbers['c']}"] == 3
        assert fake.calls[f"deposit:{numbers['d']}"] == 4  # at most chorus_attempts tries per call
        assert fake.calls[f"report:{numbers['a']}"] == 3  # read until integrated
        # The next night: Chorus answers again, and its tokens have expired meanwhile.
        script.unavailable[numbers["d"]] = 0
        fake.expire_tokens()
        more = await issue_all(pg_billing, keys, "e")
        await pg_billing.deposit()
        after_second = await states(pg_billing)
        assert after_second[numbers["d"]][0] == "integrated" and after_second[numbers["d"]][2] == 2
        assert after_second[more["e"]][0] == "integrated"
        assert fake.calls["401"] == 1 and fake.calls["token"] == 2
        assert after_second[numbers["b"]][0] == "rejected"  # a rejection is not sent again
        assert fake.calls[f"deposit:{numbers['b']}"] == 1
    types = await event_types(pg_billing)
    assert types.count("InvoiceDeposited") >= 2 and "InvoiceIntegrated" in types and "InvoiceRejected" in types
    assert types.count("InvoiceDepositFailed") == 1  # d, the first night (c's 503s were retried in its call)
    await chorus_states_replay_to_the_live_ones(pg_billing)


CHORUS_COLUMNS = ("chorus_status", "chorus_flow", "chorus_reason", "chorus_attempts", "chorus_at")


async def chorus_states_replay_to_the_live_ones(runtime) -> None:
    """OPS-04: the Chorus states (failures, deposits, reports) rebuilt from billing's own events by its
    restorers, stamped with each event's time, are the live ones."""
    table = runtime.tables.outbox
    invoices = orm.invoices
    async with runtime.uow_factory() as uow:
        live = (await uow.session.execute(select(invoices.c.id, *[invoices.c[c] for c in CHORUS_COLUMNS])
                                          .order_by(invoices.c.id))).all()
        envelopes = [Envelope.model_validate(e) for e in (await uow.session.execute(
            select(table.c.envelope).where(table.c.type.in_(CHORUS_EVENTS)).order_by(table.c.id))).scalars()]
        await uow.session.execute(update(invoices).where(invoices.c.status == "issued").values(
            chorus_status="pending", chorus_flow=None, chorus_reason=None, chorus_attempts=0, chorus_at=None))
        await uow.commit()
    for envelope in envelopes:
        await runtime.dispatcher.handle(envelope, runtime.restorers[type(parse_event(envelope))])
    async with runtime.uow_factory() as uow:
        replayed = (await uow.session.execute(select(invoices.c.id, *[invoices.c[c] for c in CHORUS_COLUMNS])
                                              .order_by(invoices.c.id))).all()
    assert replayed == live and {r.chorus_status for r in live} >= {"integrated", "rejected"}


CHORUS_EVENTS = ("InvoiceDeposited", "InvoiceDepositFailed", "InvoiceIntegrated", "InvoiceRejected")


async def test_bil07_random_503s_are_retried_until_every_flow_is_integrated(pg_billing, keys):
    numbers = await issue_all(pg_billing, keys, *[f"r{n}" for n in range(6)])
    with FakeChorus(Script(random_503=0.3, polls_before_done=1)) as fake:
        with_chorus(pg_billing, fake, chorus_attempts=6, chorus_polls=4)
        for _night in range(3):
            await pg_billing.deposit()
            if {s for s, _r, _a in (await states(pg_billing)).values()} == {"integrated"}:
                break
        assert {s for s, _r, _a in (await states(pg_billing)).values()} == {"integrated"}
        assert fake.calls["random_503"] > 0
    assert len(numbers) == 6
