"""Static files: URLs carrying a hash of the file (``?v=``) cached for a year, gzip/brotli for text files,
and the favicon at ``/favicon.ico``.

Only static text types are compressed, never HTML: a compressed page holding the CSRF token next to text the
respondent typed would leak the token to an attacker who can watch sizes (BREACH).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, has_request_context, request
from flask_compress import Compress

YEAR = 365 * 24 * 3600
DAY = 24 * 3600
COMPRESSED = ["text/css", "text/javascript", "application/javascript", "image/svg+xml"]


@lru_cache(maxsize=256)
def _version(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:  # a missing file: its URL is still built, and answers 404
        return "0"


def init_app(app: Flask) -> None:
    """Version static URLs, set their cache headers, compress them, and serve the favicon on *app*."""
    folder = Path(app.static_folder or "static")
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    # Only static files are ever compressed, so Flask-Compress runs for them only (from `cached` below), not on
    # every page, where it would only add "Vary: Accept-Encoding" to a response it never compresses.
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress = Compress(app)

    @lru_cache(maxsize=256)
    def version_of(filename: str) -> str:
        return _version(folder / filename)

    build = app.url_for  # what templates call url_for
    static_urls: dict[tuple[str, str], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        # A static file's address is the same on every page of a process (its hash is read once): each page names
        # two or three, so the templates build each once rather than through the URL map at every page.
        if endpoint != "static" or values.keys() != {"filename"} or not has_request_context():
            return build(endpoint, **values)
        key = (request.script_root, values["filename"])
        found = static_urls.get(key)
        if found is None:
            if len(static_urls) >= 256:
                static_urls.clear()
            found = static_urls[key] = build(endpoint, **values)
        return found

    app.jinja_env.globals["url_for"] = url_for

    @app.url_defaults
    def versioned(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            values["v"] = version_of(values["filename"])

    @app.after_request
    def cached(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            fresh = request.args.get("v") == _version(folder / (request.view_args or {}).get("filename", ""))
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable" if fresh \
                else f"public, max-age={DAY}"
            # Read the (small) file into memory: Compress gzips whole bodies, and only br/deflate when streamed.
            response.direct_passthrough = False
            body = response.response
            response.make_sequence()
            if hasattr(body, "close"):
                body.close()
            return compress.after_request(response)
        return response

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response((folder / "favicon.ico").read_bytes(), mimetype="image/vnd.microsoft.icon",
                        headers={"Cache-Control": f"public, max-age={DAY}"})
