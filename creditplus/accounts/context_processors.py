from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url

from creditplus.accounts.choices import Role


def roles(request: HttpRequest) -> dict[str, object]:
    """Expose the user's roles to templates, for menus (never for access decisions)."""
    user = getattr(request, "user", None)
    return {"user_roles": getattr(user, "roles", frozenset()), "Role": Role}


def language_links(request: HttpRequest) -> dict[str, object]:
    """This page in each language. Computed here, while the page's own language is active,
    because Django's set_language view cannot translate URLs when the default language has
    no prefix (it always runs in the default language)."""
    path = request.get_full_path()
    return {
        "language_links": [
            {"code": code, "name": name, "url": translate_url(path, code)}
            for code, name in settings.LANGUAGES
        ]
    }
