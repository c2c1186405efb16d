"""What every request and response goes through: headers, cookies, the size limit and the request checks.

Headers: a strict Content-Security-Policy (scripts and styles only from our own files, so text that escaped its
escaping still cannot run), no MIME sniffing, no framing, no referrer, and HSTS when the site is served over
https. Requests: a body larger than ``SURVEYKIT_MAX_REQUEST_MB`` gets a friendly 413; a control character in a
path parameter is a page that does not exist (404); a NUL in a query or form value is refused (400) before any
view or database sees it (PostgreSQL cannot store one); whole numbers in paths are bounded to what the database
stores, so an absurd number is a 404 and not an overflow.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, g, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer, want_bytes
from itsdangerous.signer import HMACAlgorithm
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

if TYPE_CHECKING:  # Flask-WTF loads with the app (csrf_protection), not with the CLI's --help
    from flask_wtf.csrf import CSRFProtect

# The largest value of an SQL INTEGER column (PostgreSQL's int4): every id and position we store fits.
INT_MAX = 2**31 - 1
# How many verified cookies and CSRF tokens a process remembers (see SessionCookies and csrf_protection).
KEPT_SIGNED = 4096
# How long a CSRF token made for a session is given again to the same session's next pages (see CsrfTokens.token).
TOKEN_REUSE_SECONDS = 60

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
# The instrument preview is shown in a frame beside its editor: its responses (only) may be framed by this site.
FRAMED_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
# An e-mail's preview, framed in its editor: the investigators' HTML with its inline styles, and nothing else
# (no script, no form, no remote image; a sandbox of its own, so not even this site's origin).
MAIL_PREVIEW_POLICY = "; ".join((
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "sandbox",
))
HSTS = "max-age=31536000"

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class BoundedInt(IntegerConverter):
    """``<int:...>`` in a route: digits only, at most :data:`INT_MAX`; anything else does not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def parse_bounded_int(value: str) -> int | None:
    """Return *value* as a whole number the database can store, or None when it is not one."""
    text = value.strip()
    # int() accepts 4,300 digits and "1_000"; a stored id never needs more than ten digits.
    if not re.fullmatch(r"[+-]?[0-9]{1,10}", text):
        return None
    number = int(text)
    return number if -INT_MAX - 1 <= number <= INT_MAX else None


def is_https(base_url: str) -> bool:
    """Return whether the public address the app is served at uses https."""
    return base_url.strip().lower().startswith("https://")


def _check_request() -> None:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and CONTROL.search(value):
            abort(404, f"This address does not exist: its {name} holds a control character.")
    for where, values in (("address", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, f"The {where} field '{key.replace(chr(0), '')[:40]}' holds a NUL character: "
                           "nothing was saved.")


class _OneShotHmac(HMACAlgorithm):
    """itsdangerous' HMAC through OpenSSL's one-shot ``hmac.digest``: the same bytes, but ``hmac.new`` given
    itsdangerous' own sha1 function (not a hashlib name) takes Python's slow path, twice per request."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, self.name)


class _KeptKeySigner(TimestampSigner):
    """itsdangerous' timestamp signer with its derived keys worked out once per process rather than at each
    signature and check (a derived key depends only on the secret, the salt and the method)."""

    _derived: dict[tuple[Any, ...], bytes] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.digest_method().name
        if isinstance(self.algorithm, HMACAlgorithm) and name in hashlib.algorithms_guaranteed:
            self.algorithm = _OneShotHmac(name)

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = (secret, self.salt, self.key_derivation, self.digest_method)
        found = self._derived.get(key)
        if found is None:
            if len(self._derived) >= 16:
                self._derived.clear()
            found = self._derived[key] = super().derive_key(secret)
        return found


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, its serializer built once per secret rather than twice per request.

    The cookie is the same (same keys, salt, key derivation and digest): only the serializer object is reused
    (itsdangerous builds a signer per use, so it holds no per-request state), and its signer keeps the derived keys.
    """

    def __init__(self) -> None:
        self._built: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}
        # Cookies whose signature this process has checked: cookie -> (serializer, signed at, the data's JSON).
        self._opened: dict[str, tuple[URLSafeTimedSerializer, float, str]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Flask's, remembering each cookie it has verified: a respondent's browser sends the same cookie with
        every page until something changes it, and checking its signature again costs more than the page's
        queries. A remembered cookie is only ever one this process verified with the current key, and its age is
        checked again at each use, as at the first."""
        s = self.get_signing_serializer(app)
        if s is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        held = self._opened.get(value)
        if held is not None and held[0] is s and time.time() - held[1] <= max_age:
            return self.session_class(self.serializer.loads(held[2]))
        try:
            data, signed_at = s.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if len(self._opened) >= KEPT_SIGNED:
            self._opened.clear()
        # Kept as JSON text, not as the dict: each request gets its own copy to change.
        self._opened[value] = (s, signed_at.timestamp(), self.serializer.dumps(data))
        return self.session_class(data)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = tuple(app.config["SECRET_KEY_FALLBACKS"] or ())
        key = (app.secret_key, fallbacks)
        found = self._built.get(key)
        if found is None:
            # As Flask builds it (the current key last), with the signer above.
            found = URLSafeTimedSerializer(
                [*fallbacks, app.secret_key], salt=self.salt, serializer=self.serializer, signer=_KeptKeySigner,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method})
            self._built = {key: found}  # one secret at a time: a changed key replaces the old serializer
        return found


def framable(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let this site's own pages show *view* in a frame (the instrument preview); no other site may."""
    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        g.surveykit_framable = True
        return view(*args, **kwargs)
    return run


def mail_preview_frame(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve *view* (an e-mail's preview) under :data:`MAIL_PREVIEW_POLICY`, framable by this site only."""
    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        g.surveykit_framable = True
        g.surveykit_policy = MAIL_PREVIEW_POLICY
        return view(*args, **kwargs)
    return run


def _headers(response: Response, https: bool) -> Response:
    framed = bool(g.get("surveykit_framable"))
    policy = g.get("surveykit_policy") or (FRAMED_POLICY if framed else CONTENT_SECURITY_POLICY)
    response.headers["Content-Security-Policy"] = policy
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    if https:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    """Set the cookie flags and size limit, bound route numbers, and register the checks and headers on *app*.

    Call it before the blueprints are registered: their ``<int:...>`` rules take the converter at that moment.
    """
    app.url_map.converters["int"] = BoundedInt
    https = is_https(app.config["SURVEYKIT_BASE_URL"])
    limit_mb = app.config["SURVEYKIT_MAX_REQUEST_MB"]
    app.config["MAX_CONTENT_LENGTH"] = int(limit_mb * 1024 * 1024)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = https
    app.session_interface = SessionCookies()
    app.before_request(_check_request)
    app.after_request(lambda response: _headers(response, https))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Any:
        friendly = RequestEntityTooLarge(
            f"What you sent is larger than the {limit_mb:g} MB this site accepts, so nothing of it was saved. "
            "A file this large must be split into smaller ones.")
        return render_template("errors/http.html", error=friendly), 413


def csrf_protection() -> CSRFProtect:
    """Return Flask-WTF's CSRF protection with its signing serializer built once per secret (see below)."""
    import logging
    import os

    from flask import current_app, session
    from flask_wtf.csrf import CSRFProtect, ValidationError, same_origin
    from itsdangerous import BadData, SignatureExpired

    logger = logging.getLogger("flask_wtf.csrf")
    salt = "wtf-csrf-token"  # Flask-WTF's

    class CsrfTokens(CSRFProtect):
        """Flask-WTF's CSRFProtect: the same tokens (``URLSafeTimedSerializer(secret, salt="wtf-csrf-token")``), the
        same checks and errors, with the serializer built once per secret and :class:`_KeptKeySigner` (Flask-WTF
        builds a serializer, two signers and their derived keys for each token made and each token checked).
        Forms' own CSRF fields (``FlaskForm``) still use Flask-WTF's functions: the tokens are interchangeable."""

        def __init__(self) -> None:
            super().__init__()
            self._built: dict[str | bytes, URLSafeTimedSerializer] = {}
            # Tokens made lately, by session secret: (serializer, made at, token); and tokens verified, by token:
            # (serializer, signed at, the session secret they sign). Both as Flask-WTF would make and check them.
            self._made: dict[str, tuple[URLSafeTimedSerializer, float, str]] = {}
            self._checked: dict[str, tuple[URLSafeTimedSerializer, float, str]] = {}

        def init_app(self, app: Flask) -> None:
            super().init_app(app)
            app.jinja_env.globals["csrf_token"] = self.token
            app.context_processor(lambda: {"csrf_token": self.token})  # after Flask-WTF's: this one wins

        def _serializer(self) -> URLSafeTimedSerializer:
            secret = current_app.config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
            if secret is None:
                raise RuntimeError("A secret key is required to use CSRF.")
            found = self._built.get(secret)
            if found is None:
                found = URLSafeTimedSerializer(secret, salt=salt, signer=_KeptKeySigner)
                self._built = {secret: found}  # one secret at a time
            return found

        def token(self) -> str:
            """Return this request's signed CSRF token (``csrf_token()`` in templates), as ``generate_csrf`` does."""
            field = current_app.config["WTF_CSRF_FIELD_NAME"]
            if field not in g:
                serializer = self._serializer()
                if field not in session:
                    session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
                secret = session[field]
                # The token made for this session's previous page, if made within the last minute: the same token
                # Flask-WTF would make now but for its time stamp (so, with a time limit set, it expires up to a
                # minute sooner), and signing one costs a page more than its queries.
                made = self._made.get(secret) if isinstance(secret, str) else None
                if made is not None and made[0] is serializer and 0 <= time.time() - made[1] < TOKEN_REUSE_SECONDS:
                    token = made[2]
                else:
                    try:
                        token = serializer.dumps(secret)
                    except TypeError:
                        session[field] = secret = hashlib.sha1(os.urandom(64)).hexdigest()
                        token = serializer.dumps(secret)
                    if isinstance(secret, str):
                        if len(self._made) >= KEPT_SIGNED:
                            self._made.clear()
                        self._made[secret] = (serializer, time.time(), token)
                setattr(g, field, token)
            return g.get(field)  # type: ignore[no-any-return]

        def _validate(self, data: str | None) -> None:
            # flask_wtf.csrf.validate_csrf, with the kept serializer.
            field = current_app.config["WTF_CSRF_FIELD_NAME"]
            if not data:
                raise ValidationError("The CSRF token is missing.")
            if field not in session:
                raise ValidationError("The CSRF session token is missing.")
            serializer = self._serializer()
            max_age = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
            # A token this process verified before (a form sent twice, or a token given to several pages, see
            # token): its signature holds; only its age is checked again.
            checked = self._checked.get(data)
            if checked is not None and checked[0] is serializer and (
                    max_age is None or time.time() - checked[1] <= max_age):
                token = checked[2]
            else:
                try:
                    token, signed_at = serializer.loads(data, max_age=max_age, return_timestamp=True)
                except SignatureExpired as e:
                    raise ValidationError("The CSRF token has expired.") from e
                except BadData as e:
                    raise ValidationError("The CSRF token is invalid.") from e
                if isinstance(token, str):
                    if len(self._checked) >= KEPT_SIGNED:
                        self._checked.clear()
                    self._checked[data] = (serializer, signed_at.timestamp(), token)
            if not isinstance(token, str) or not hmac.compare_digest(session[field], token):
                raise ValidationError("The CSRF tokens do not match.")

        def protect(self, apply_exemptions: bool = False) -> None:
            # CSRFProtect.protect, calling _validate (the method first: a GET needs no look at the exemptions).
            if request.method not in current_app.config["WTF_CSRF_METHODS"]:
                return
            if apply_exemptions and (not request.endpoint or self._is_exempt()):
                return
            try:
                self._validate(self._get_csrf_token())
            except ValidationError as e:
                logger.info(e.args[0])
                self._error_response(e.args[0])
            if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
                if not request.referrer:
                    self._error_response("The referrer header is missing.")
                if not same_origin(request.referrer, f"https://{request.host}/"):
                    self._error_response("The referrer does not match the host.")
            g.csrf_valid = True

    return CsrfTokens()
