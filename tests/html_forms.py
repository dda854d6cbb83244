"""Reading a page's form as a browser submits it, for tests that post an admin form whole."""

from collections.abc import Callable
from html.parser import HTMLParser

from django.test import Client


class FormReader(HTMLParser):
    """The fields one form of a page submits: inputs with their values (checkboxes and radios
    only when checked), the selected options of selects, and textareas' text."""

    def __init__(self, chosen: Callable[[dict[str, str]], bool]) -> None:
        super().__init__(convert_charrefs=True)
        self.chosen = chosen
        self.inside = False
        self.found = False
        self.fields: dict[str, list[str]] = {}
        self.select: str | None = None
        self.multiple = False
        self.options: list[tuple[str, bool]] = []
        self.option: dict[str, str] | None = None
        self.option_text = ""
        self.textarea: str | None = None
        self.textarea_text = ""

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs = {key: value or "" for key, value in attributes}
        if tag == "form" and not self.found and self.chosen(attrs):
            self.inside = self.found = True
            return
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.add(name, attrs.get("value", "on" if kind in ("checkbox", "radio") else ""))
        elif tag == "select" and name:
            self.select, self.multiple, self.options = name, "multiple" in attrs, []
        elif tag == "option" and self.select is not None:
            self.option, self.option_text = attrs, ""
        elif tag == "textarea" and name:
            self.textarea, self.textarea_text = name, ""

    def handle_data(self, data: str) -> None:
        if self.option is not None:
            self.option_text += data
        if self.textarea is not None:
            self.textarea_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "option" and self.option is not None:
            value = self.option.get("value", self.option_text.strip())
            self.options.append((value, "selected" in self.option))
            self.option = None
        elif tag == "select" and self.select is not None:
            chosen = [value for value, selected in self.options if selected]
            if not chosen and not self.multiple and self.options:
                chosen = [self.options[0][0]]
            for value in chosen:
                self.add(self.select, value)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # The HTML parser keeps the newline after <textarea> that a browser drops.
            self.add(self.textarea, self.textarea_text.removeprefix("\n"))
            self.textarea = None


def form_fields(html: str, chosen: Callable[[dict[str, str]], bool]) -> dict[str, list[str]]:
    reader = FormReader(chosen)
    reader.feed(html)
    reader.close()
    assert reader.found, "no such form on the page"
    return reader.fields


def admin_form_data(client: Client, url: str) -> dict[str, list[str]]:
    """What the admin change form at `url` submits unchanged, inline formsets included."""
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    return form_fields(html, lambda attrs: attrs.get("id", "").endswith("_form"))
