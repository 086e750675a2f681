"""BEN-03: Prest@ppli lists that bring doublons of the sample J-10 list's people (invented people)."""

from cluster import SAMPLES

J10 = SAMPLES / "liste_inscrits_J-10.csv"
_LINES = J10.read_bytes().decode("cp1252").splitlines()
HEADER, MOUSSA = _LINES[0], _LINES[2]  # N'DIAYE Moussa, born 02/11/1979, identifiant 2345678B
COLUMNS = {"starts_at": 6, "place": 7, "received": 8, "birth_date": 11, "last_name": 13, "first_name": 14,
           "ft_id": 15, "email": 17, "phone": 18}


def row(**values: str) -> str:
    """Moussa's J-10 row with ``values`` in place of his."""
    fields = MOUSSA.split(";")
    for name, value in values.items():
        fields[COLUMNS[name]] = value
    return ";".join(fields)


def doublon_list(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")


# Moussa again under another identifiant, his name typed otherwise (case, apostrophe, spaces), on the 16th.
MOUSSA_AGAIN = row(last_name="n diaye", first_name=" MOUSSA ", ft_id="8888888H", starts_at="16/01/2025 10:00",
                   email="", phone="")


async def upload(api, name: str, data: bytes) -> dict:
    """Import a list on ACR2025-L12 through importer's API; its report (the import must be accepted)."""
    response = await api.request("POST", "importer", "/imports", files={"file": (name, data)},
                                 data={"resource": "ACR2025-L12"})
    assert response.status_code == 200, response.json()
    return response.json()
