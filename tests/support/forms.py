"""Reading a form's values and errors out of a rendered page."""

from __future__ import annotations

from html.parser import HTMLParser

from django.test import Client


class FormValues(HTMLParser):
    """What a browser would submit from the page's main form, as it stands."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in {"submit", "button", "file"}:
            if a.get("type") in {"checkbox", "radio"}:
                if "checked" in a:
                    self.values.setdefault(name, []).append(a.get("value") or "on")
            else:
                self.values.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select].append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += (
                data.lstrip("\n") if not self.values[self._textarea][0] else data
            )


def form_values(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    parser = FormValues()
    parser.feed(response.content.decode())
    return {
        name: values if len(values) > 1 else (values[0] if values else "")
        for name, values in parser.values.items()
        if "__prefix__" not in name and name not in {"csrfmiddlewaretoken", "_save", "action"}
    }


def errors_of(response) -> str:
    """The page's error texts (the form stays on screen with them), or '' if it saved."""
    if response.status_code == 302:
        return ""
    assert response.status_code == 200
    text = response.content.decode()
    assert "errornote" in text or "errorlist" in text
    return text
