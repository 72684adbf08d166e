"""What every page's layout needs: the navigation and the language switcher."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from nightshift.web.areas import UTILITY_AREAS

# Each language is offered in its own name, never translated: whoever cannot read the current
# language must still recognise theirs.
LANGUAGE_ENDONYMS = {"en": "English", "pt-br": "Português (Brasil)"}


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool = False


@dataclass(frozen=True)
class NavSection:
    label: str | None
    items: list[NavItem]


@dataclass(frozen=True)
class LanguageChoice:
    code: str
    name: str
    active: bool


def _is_active(path: str, url: str) -> bool:
    # A prefix match keeps an area highlighted on its sub-pages (a run's detail page under
    # the board), which the apps that replace the placeholders will add.
    if url == "/":
        return path == "/"
    return path == url or path.startswith(url.rstrip("/") + "/")


def _sections(request: HttpRequest) -> list[NavSection]:
    path = request.path

    def item(label: str, url: str) -> NavItem:
        return NavItem(label=label, url=url, active=_is_active(path, url))

    sections = [
        NavSection(None, [item(_("Dashboard"), reverse("web:dashboard"))]),
        NavSection(
            _("Utilities"),
            [
                item(area.title, area.url())
                for area in UTILITY_AREAS
                if area.is_open_to(request.user)
            ],
        ),
    ]
    if request.user.is_staff:
        sections.append(
            NavSection(_("Administration"), [item(_("Django admin"), reverse("admin:index"))])
        )
    return sections


def _languages() -> list[LanguageChoice]:
    current = (translation.get_language() or settings.LANGUAGE_CODE).lower()
    return [
        LanguageChoice(
            code=code,
            name=LANGUAGE_ENDONYMS.get(code) or translation.get_language_info(code)["name_local"],
            active=current == code.lower(),
        )
        for code, _name in settings.LANGUAGES
    ]


def navigation(request: HttpRequest) -> dict[str, object]:
    """``navigation`` (sections of links, the current page's marked active) for a signed-in
    user, and ``language_choices`` for everyone, the sign-in page included."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "navigation": _sections(request) if signed_in else [],
        "language_choices": _languages(),
    }
