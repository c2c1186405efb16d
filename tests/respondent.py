"""A respondent walking through a survey with the test client, the way a browser would."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from conftest import csrf_from


class Respondent:
    def __init__(self, client: FlaskClient, slug: str) -> None:
        self.client = client
        self.slug = slug
        self.page: TestResponse | None = None

    def start(self) -> TestResponse:
        """Open the intro page and press Start; land on the first page."""
        intro = self.client.get(f"/s/{self.slug}")
        assert intro.status_code == 200, intro.text
        self.page = self.client.post(f"/s/{self.slug}/start", data={"csrf_token": csrf_from(intro.text)},
                                     follow_redirects=True)
        return self.page

    @property
    def section(self) -> str:
        assert self.page is not None
        return self.page.request.path.rsplit("/", 1)[-1]

    def answer(self, data: dict[str, Any], action: str = "next") -> TestResponse:
        """Post the current page with *data* and follow the redirect."""
        assert self.page is not None
        form = {"csrf_token": csrf_from(self.page.text), "action": action, **data}
        self.page = self.client.post(self.page.request.path, data=form, follow_redirects=True)
        return self.page
