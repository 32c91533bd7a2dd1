"""Profile pages: accounts created by the partner API have no ``locale``, and ``data["locale"]`` raises
KeyError. The docstring says a missing or null locale means English; the fix says so once."""

KIND = "missing-key"
STYLES = ("small-edit",)
HANDLER = "profile-greeting"

APP = {"profilepage/__init__.py": '''
"""Profile page: the greeting in the account's language."""
from smartworker import handler

GREETINGS = {"en": "Hello", "de": "Hallo", "fr": "Bonjour"}


@handler("profile-greeting")
def profile_greeting(data):
    """The greeting for ``name`` in the language of ``locale`` (``de_AT``; missing or null: English)."""
    language = data["locale"].split("_")[0]
    return {"greeting": f"{GREETINGS.get(language, 'Hello')}, {data['name']}!"}
'''}

FAILING = {"name": "Ines"}
ERROR = "KeyError"
EXPECTED = {"greeting": "Hello, Ines!"}

HISTORY = [{"name": "Jo", "locale": "de_AT"}, {"name": "Li", "locale": "zh_CN"}]

ACCEPTANCE = [
    ({"name": "Jo", "locale": "de_AT"}, {"greeting": "Hallo, Jo!"}),
    ({"name": "Al", "locale": None}, {"greeting": "Hello, Al!"}),
    ({"name": "Zo", "locale": "fr"}, {"greeting": "Bonjour, Zo!"}),
]

FIX = {"profilepage/__init__.py": [('language = data["locale"].split("_")[0]',
                                    'language = (data.get("locale") or "en").split("_")[0]')]}
