"""X-03 through importer's HTTP API (issue #20, cases 3 and 4, and oversized uploads): a clear French
message, bounded memory, and nothing changed."""

import httpx
import pytest

from prestaflow import referential
from prestaflow.client import Api

from cluster import SAMPLES

J10 = SAMPLES / "liste_inscrits_J-10.csv"
HEADER, FIRST = J10.read_bytes().decode("cp1252").split("\r\n")[:2]


async def upload(api, data: bytes, **form) -> httpx.Response:
    return await api.request("POST", "importer", "/imports", files={"file": ("liste.csv", data)},
                             data={"resource": "ACR2025-L12"} | form)


async def everything(api) -> dict:
    """What an import may change: records, appointments, every service's events."""
    return {"people": (await api.request("GET", "importer", "/beneficiaries")).json(),
            "actions": (await api.request("GET", "planning", "/actions")).json(),
            "events": {r.name: len((await api.request("GET", r.name, "/admin/events")).json())
                       for r in api.embedded.runtimes}}


async def test_x03_thousands_of_bad_rows_keep_200_messages_and_the_count(api):
    """X-03 case 3: 1,000 bad rows: the report and the history keep the first 200 messages and say how
    many others there were; `/imports` stays small."""
    bad = FIRST.replace("41234567800019", "4123")
    data = "\r\n".join([HEADER, *[bad] * 1_000, ""]).encode("cp1252")
    before = await everything(api)
    response = await upload(api, data)
    assert response.status_code == 422
    report = response.json()
    assert report["counts"]["errors"] == 1_000
    assert len(report["messages"]) == 201
    assert report["messages"][0]["message"].startswith("1000 ligne(s) en erreur : fichier refusé en entier")
    assert report["messages"][1]["message"] == ("Ligne 2, colonne « SIRET prestataire » : « 4123 » n'est pas un "
                                                "SIRET (14 chiffres attendus).")
    assert report["messages"][-1] == {"row": None, "field": None, "message": (
        "… et 801 autre(s) message(s) non conservé(s) (les 200 premiers sont gardés, "
        "PRESTAFLOW_LIMIT_IMPORT_MESSAGES).")}
    history = await api.request("GET", "importer", "/imports")
    assert len(history.content) < 60_000
    assert history.json()[0]["messages"] == report["messages"]
    assert await everything(api) == before


async def test_x03_control_characters_in_a_name_refused_at_import(api):
    """X-03 case 4: « EVIL\\r\\nBcc: x@y » as a name: refused, the row named, nothing imported."""
    fields = FIRST.split(";")
    fields[13] = '"EVIL\r\nBcc: x@y"'
    before = await everything(api)
    response = await upload(api, "\r\n".join([HEADER, ";".join(fields), ""]).encode("cp1252"))
    assert response.status_code == 422
    assert [m["message"] for m in response.json()["messages"]][1:] == [
        "Ligne 2, colonne « Nom » : caractère de contrôle (retour à la ligne, tabulation...) non accepté dans ce "
        "champ."]
    assert await everything(api) == before


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_x03_upload_over_the_limit_answered_413_before_being_read(sqlite_settings, monkeypatch, chunked):
    """X-03 fuzz of the upload endpoints: a body over the limit is answered 413 with a French message,
    whether it declares its length or streams it; nothing is imported."""
    monkeypatch.setenv("PRESTAFLOW_LIMIT_IMPORT_BYTES", "100000")
    monkeypatch.setenv("PRESTAFLOW_LIMIT_REFERENTIAL_BYTES", "10000")
    async with Api(sqlite_settings) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        sent = []

        async def body():  # a well-formed multipart upload whose file never ends
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="liste.csv"\r\n\r\n'
            for _ in range(100):  # 3.2 MB in all, far over 1.1 MB
                sent.append(1)
                yield b"x" * 32_000

        if chunked:
            response = await api.request("POST", "importer", "/imports?resource=ACR2025-L12", content=body(),
                                         headers={"content-type": "multipart/form-data; boundary=b"})
        else:
            response = await upload(api, b"x" * 3_200_000)
        assert response.status_code == 413, response.text
        assert response.json() == {"messages": [
            "Envoi trop volumineux : 1,1 Mo au plus par envoi (PRESTAFLOW_LIMIT_IMPORT_BYTES pour un fichier). "
            "Vérifiez le fichier choisi."]}
        if chunked:
            assert len(sent) < 100  # refused while streaming, not after
        assert (await api.request("GET", "importer", "/imports")).json() == []
        # Every endpoint, not only uploads: a referential part of 3 MB as JSON.
        big = await api.request("PUT", "planning", "/referential", params={"dry_run": "true"},
                                json={"sites": [{"code": f"S{n}", "name": "x" * 100} for n in range(25_000)]})
        assert big.status_code == 413 and big.json()["messages"][0].startswith("Envoi trop volumineux")
        # Under the limit, the same endpoint works.
        assert (await upload(api, J10.read_bytes())).status_code == 200
