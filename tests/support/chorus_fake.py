"""A fake Chorus Pro (PISTE OAuth2 + the deposit and report calls) on loopback, for billing's tests.

A real HTTP server in a thread. It issues tokens for the one application it knows, checks the
``cpro-account`` header, accepts Factur-X PDFs (it reads their ``factur-x.xml``), integrates a flow
after a few report readings, or rejects it with a reason, answers 503 when told to (per document,
or at random with a seed) and expires tokens on demand.
"""

import base64
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from facturx import get_xml_from_pdf

CLIENT_ID, CLIENT_SECRET, LOGIN, PASSWORD = "piste-app", "piste-secret", "TECH_BGE@cpp2017.fr", "motdepasse"


@dataclass
class Script:
    """What the fake does: per invoice number, a rejection reason or a number of 503 answers."""

    rejections: dict[str, str] = field(default_factory=dict)  # number -> reason in the detailed report
    refusals: dict[str, str] = field(default_factory=dict)  # number -> libellé of a refused deposit
    unavailable: dict[str, int] = field(default_factory=dict)  # number -> 503 answers before accepting (-1: always)
    polls_before_done: int = 2
    random_503: float = 0.0
    seed: int = 7


class FakeChorus:
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.random = random.Random(self.script.seed)
        self.tokens: set[str] = set()
        self.calls: Counter[str] = Counter()  # "deposit:<number>", "report:<flow>", "token", "401"...
        self.flows: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def settings(self) -> dict:
        return {"chorus_client_id": CLIENT_ID, "chorus_client_secret": CLIENT_SECRET, "chorus_login": LOGIN,
                "chorus_password": PASSWORD, "chorus_oauth_url": f"{self.url}/api/oauth/token",
                "chorus_api_url": f"{self.url}/cpro", "chorus_backoff_seconds": 0.01, "chorus_poll_seconds": 0}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def __enter__(self) -> "FakeChorus":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake.lock:
                    status, body = fake.handle(self.path, self.headers, raw)
                self._answer(status, body)

        return Handler

    def handle(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        if path == "/api/oauth/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self.calls["token"] += 1
            if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
                    "client_credentials", CLIENT_ID, CLIENT_SECRET):
                return 401, {"error": "invalid_client"}
            token = f"tok-{self.calls['token']}"
            self.tokens.add(token)
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "openid"}
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            self.calls["401"] += 1
            return 401, {"error": "invalid_token"}
        if headers.get("cpro-account") != base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode():
            return 403, {"error": "compte technique inconnu"}
        body = json.loads(raw)
        if self.random.random() < self.script.random_503:
            self.calls["random_503"] += 1
            return 503, {"error": "Service Unavailable"}
        if path == "/cpro/factures/v1/deposer/flux":
            number = body["nomFichier"].removesuffix(".pdf")
            self.calls[f"deposit:{number}"] += 1
            left = self.script.unavailable.get(number, 0)
            if left:
                self.script.unavailable[number] = left - 1 if left > 0 else left
                return 503, {"error": "Service Unavailable"}
            assert body["syntaxeFlux"] == "IN_DP_E2_CII_FACTURX"
            filename, xml = get_xml_from_pdf(base64.b64decode(body["fichierFlux"]), check_xsd=False)
            if filename != "factur-x.xml":
                return 200, {"codeRetour": 12, "libelle": "Flux illisible : pas de factur-x.xml"}
            if number in self.script.refusals:
                return 200, {"codeRetour": 3, "libelle": self.script.refusals[number]}
            flow = f"CPP{len(self.flows) + 1:07d}"
            self.flows[flow] = {"number": number, "polls": 0, "xml": xml}
            return 200, {"codeRetour": 0, "libelle": "GCU_MSG_01_000", "numeroFluxDepot": flow, "dateDepot": "2025-04-15"}
        if path == "/cpro/transverses/v1/consulterCRDetaille":
            flow = self.flows.get(body["numeroFluxDepot"])
            if flow is None:
                return 200, {"codeRetour": 20001, "libelle": "Flux inconnu"}
            self.calls[f"report:{flow['number']}"] += 1
            flow["polls"] += 1
            if flow["polls"] <= self.script.polls_before_done:
                return 200, {"codeRetour": 0, "libelle": "OK", "etatCourantDepotFlux": "IN_EN_ATTENTE_TRAIT"}
            reason = self.script.rejections.get(flow["number"])
            if reason:
                return 200, {"codeRetour": 0, "libelle": "OK", "etatCourantDepotFlux": "IN_REJETE",
                             "listeErreurDP": [{"numeroDP": flow["number"], "libelleErreurDP": reason}]}
            return 200, {"codeRetour": 0, "libelle": "OK", "etatCourantDepotFlux": "IN_INTEGRE"}
        return 404, {"error": path}
