"""A real, small OpenID Connect provider for the tests of sign-in with Microsoft or Google.

A werkzeug application on a free local port, in a thread: discovery, JWKS (an RS256 key
made at start), authorize (auto-approves whoever the test says is signed in there), token
(checks the client, the redirect URI, the code's single use and PKCE) and userinfo. The
portal talks to it over HTTP exactly as to Microsoft or Google.
"""

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "matmis-test-client"
CLIENT_SECRET = "matmis-test-secret"


@dataclass
class Account:
    """Who is signed in at the provider (what its ID token will say)."""

    email: str
    email_verified: bool = True
    amr: list[str] = field(default_factory=lambda: ["pwd"])
    sub: str = field(default_factory=lambda: secrets.token_hex(8))


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.account: Account | None = None
        self.redirect_uris: set[str] = set()
        self.codes: dict[str, dict] = {}
        self.tokens_issued = 0
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()

    # --- the endpoints ---------------------------------------------------------------

    def _app(self, environ, start_response):
        request = Request(environ)
        handler = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/token": self._token,
            "/userinfo": self._userinfo,
        }.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def _discovery(self, request):
        return _json(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    def _jwks(self, request):
        return _json({"keys": [self.key.as_dict(private=False)]})

    def _authorize(self, request):
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("redirect_uri") not in self.redirect_uris:
            return Response("unknown client or redirect URI", status=400)
        if args.get("response_type") != "code" or args.get("code_challenge_method") != "S256":
            return Response("unsupported request", status=400)
        if "openid" not in args.get("scope", "").split():
            return Response("openid scope needed", status=400)
        redirect = args["redirect_uri"]
        if self.account is None:
            query = {"error": "access_denied", "state": args.get("state", "")}
            return Response(status=302, headers={"Location": f"{redirect}?{urlencode(query)}"})
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": redirect,
            "nonce": args.get("nonce"),
            "challenge": args.get("code_challenge"),
            "account": self.account,
        }
        query = {"code": code, "state": args.get("state", "")}
        return Response(status=302, headers={"Location": f"{redirect}?{urlencode(query)}"})

    def _token(self, request):
        form = request.form
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _json({"error": "invalid_client"}, status=401)
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant"}, status=400)
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, status=400)
        account: Account = grant["account"]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": account.sub,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            "email": account.email,
            "email_verified": account.email_verified,
            "amr": account.amr,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        self.tokens_issued += 1
        access = secrets.token_urlsafe(16)
        self.codes[f"access:{access}"] = {"account": account}
        return _json({"access_token": access, "token_type": "Bearer", "id_token": id_token})

    def _userinfo(self, request):
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        grant = self.codes.get(f"access:{bearer}")
        if grant is None:
            return _json({"error": "invalid_token"}, status=401)
        account = grant["account"]
        return _json({"sub": account.sub, "email": account.email})


def _json(data, status=200):
    import json

    return Response(json.dumps(data), status=status, mimetype="application/json")
