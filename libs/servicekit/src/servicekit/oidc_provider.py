"""A local OpenID provider for tests (SEC-01): a real HTTP server on loopback serving its
discovery document, its JWKS and a token endpoint (client credentials), signing RS256 tokens, and
rotating its key on demand.

    with LocalOpenIdProvider() as provider:
        token = provider.token("cdurand")
        settings = ServiceSettings(**provider.settings())
"""

import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "prestaflow"


class LocalOpenIdProvider:
    def __init__(self, audience: str = AUDIENCE, clients: dict[str, str] | None = None):
        """``clients``: client id → secret, for the token endpoint's client-credentials grant."""
        self.audience = audience
        self.clients = dict(clients or {})
        self.jwks_requests = 0
        self.token_requests = 0
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.rotate(keep_old=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}/realms/test"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LocalOpenIdProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    def settings(self) -> dict[str, Any]:
        """``ServiceSettings`` fields pointing at this provider (JWKS refetched at once on rotation)."""
        return {"oidc_issuer": self.issuer, "oidc_audience": self.audience, "oidc_jwks_url": self.jwks_url,
                "oidc_jwks_cooldown_seconds": 0}

    def rotate(self, keep_old: bool = False) -> str:
        """A new signing key; the old one is dropped from the JWKS unless ``keep_old``. Its kid."""
        kid = uuid.uuid4().hex[:16]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._keys = [(kid, key), *(self._keys if keep_old else [])]
        return kid

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._keys[0][1].public_key()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append(jwk | {"kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def claims(self, subject: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": self.audience, "sub": subject, "iat": now, "exp": now + 300,
                "jti": uuid.uuid4().hex} | overrides

    def token(self, subject: str, **overrides: Any) -> str:
        """An RS256 token signed with the current key; ``overrides`` change claims (``exp=...``)."""
        kid, key = self._keys[0]
        return jwt.encode(self.claims(subject, **overrides), key, algorithm="RS256", headers={"kid": kid})

    def service_token(self, client_id: str, **overrides: Any) -> str:
        return self.token(f"service-account-{client_id}", azp=client_id, **overrides)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    self._json({"issuer": provider.issuer, "jwks_uri": provider.jwks_url,
                                "token_endpoint": provider.token_url,
                                "grant_types_supported": ["client_credentials"],
                                "id_token_signing_alg_values_supported": ["RS256"]})
                elif self.path.endswith("/protocol/openid-connect/certs"):
                    provider.jwks_requests += 1
                    self._json(provider.jwks())
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                if not self.path.endswith("/protocol/openid-connect/token"):
                    self._json({"error": "not_found"}, 404)
                    return
                provider.token_requests += 1
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                client_id, secret = form.get("client_id", [""])[0], form.get("client_secret", [""])[0]
                if form.get("grant_type") != ["client_credentials"]:
                    self._json({"error": "unsupported_grant_type"}, 400)
                elif provider.clients.get(client_id) != secret or not secret:
                    self._json({"error": "invalid_client"}, 401)
                else:
                    self._json({"access_token": provider.service_token(client_id), "token_type": "Bearer",
                                "expires_in": 300})

        return Handler
