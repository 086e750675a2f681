"""Logs carry ids and counts, never a name, e-mail, phone or identifiant (X-04)."""

import json
import logging

from servicekit.logs import JsonFormatter, silence_leaky_libraries

from cluster import SAMPLES


async def test_x04_no_personal_data_in_logs_during_an_import(api, caplog):
    silence_leaky_libraries()  # what servicekit.logs.configure does in every service
    caplog.set_level(logging.DEBUG)
    for name in ("liste_inscrits_J-10.csv", "liste_inscrits_J-2.csv", "liste_inscrits_adresse_inconnue.csv"):
        await api.request("POST", "importer", "/imports", files={"file": (name, (SAMPLES / name).read_bytes())},
                          data={"resource": "ACR2025-L12"})
    formatter = JsonFormatter()
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert "list imported" in text  # the import did log
    for value in ("DUPONT", "Léa", "1234567A", "lea.dupont@example.org", "+33612345678", "06 12 34 56 78",
                  "ÉTIENNE", "MOREAU", "hugo.moreau@example.org"):
        assert value not in text
    for record in caplog.records:
        json.loads(formatter.format(record))  # every line is JSON
