"""How a request proves who sends it: a bearer token (API clients), or the browsable API's session
cookie holding the same kind of token (people in a browser). Either way one read of the token item."""

from __future__ import annotations

import dataclasses

from rest_framework import authentication, exceptions

from scheduler.security.roles import Anonymous, Principal

__all__ = ["Anonymous", "BearerTokenAuthentication", "BrowserSessionAuthentication"]

SESSION_TOKEN_KEY = "api_token"  # noqa: S105 - the session key that holds the token, not a secret


def _principal_for_token(raw: str) -> Principal | None:
    # Imported here: DRF loads this module while the DynamoDB layer may still be importing.
    from accounts.selectors import principal_for_token

    return principal_for_token(raw)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request) -> tuple[Principal, str] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as `Authorization: Bearer <token>`.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        principal = _principal_for_token(raw)
        if principal is None:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked; sign in again.")
        return principal, raw

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BrowserSessionAuthentication(authentication.SessionAuthentication):
    """The browsable API: the token lives in a signed, HttpOnly session cookie (no session table).
    Unsafe methods must carry the CSRF token, as with DRF's own SessionAuthentication."""

    def authenticate(self, request) -> tuple[Principal, str] | None:
        session = getattr(request._request, "session", None)
        raw = session.get(SESSION_TOKEN_KEY) if session is not None else None
        if not raw:
            return None
        principal = _principal_for_token(raw)
        if principal is None:
            session.flush()  # expired or revoked: the browser is signed out
            return None
        self.enforce_csrf(request)
        return dataclasses.replace(principal, via_session=True), raw
