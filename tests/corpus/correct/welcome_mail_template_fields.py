"""Welcome e-mails: the marketing team changed the template to greet by ``{first_name}``, while the
handler still formats it with ``name=``, so ``str.format`` raises KeyError in the templates module.
The fix spans both modules: the templates module renders with the fields a template may use
(``render``), and the handler passes the first name."""

KIND = "multi-file"
STYLES = ("multi-file", "helper-extracted")
HANDLER = "welcome-mail"

APP = {
    "onboarding/__init__.py": '''
"""Onboarding: the welcome e-mail a new account gets."""
from smartworker import handler

from . import templates


@handler("welcome-mail")
def welcome_mail(data):
    """Subject and body of the welcome mail for ``name`` in ``lang`` (default "en")."""
    template = templates.TEMPLATES[data.get("lang", "en")]
    return {"to": data["email"], "subject": template["subject"],
            "body": template["body"].format(name=data["name"])}
''',
    "onboarding/templates.py": '''
"""Mail templates, as the marketing team edits them."""

TEMPLATES = {
    "en": {"subject": "Welcome aboard", "body": "Hi {first_name}, your account is ready."},
    "de": {"subject": "Willkommen", "body": "Hallo {first_name}, dein Konto ist bereit."},
}
''',
}

FAILING = {"email": "ada@example.com", "name": "Ada Lovelace"}
ERROR = "KeyError"
EXPECTED = {"to": "ada@example.com", "subject": "Welcome aboard", "body": "Hi Ada, your account is ready."}

ACCEPTANCE = [
    ({"email": "b@example.de", "name": "Bea", "lang": "de"}, {"to": "b@example.de", "subject": "Willkommen",
                                                              "body": "Hallo Bea, dein Konto ist bereit."}),
    ({"email": "c@example.com", "name": "  Carl  Benz "}, {"to": "c@example.com", "subject": "Welcome aboard",
                                                           "body": "Hi Carl, your account is ready."}),
    ({"email": "d@example.com", "name": ""}, {"to": "d@example.com", "subject": "Welcome aboard",
                                              "body": "Hi there, your account is ready."}),
]

FIX = {
    "onboarding/__init__.py": [(
        '''    template = templates.TEMPLATES[data.get("lang", "en")]
    return {"to": data["email"], "subject": template["subject"],
            "body": template["body"].format(name=data["name"])}''',
        '''    subject, body = templates.render(data.get("lang", "en"), name=data["name"])
    return {"to": data["email"], "subject": subject, "body": body}''')],
    "onboarding/templates.py": [(
        '''    "de": {"subject": "Willkommen", "body": "Hallo {first_name}, dein Konto ist bereit."},
}
''',
        '''    "de": {"subject": "Willkommen", "body": "Hallo {first_name}, dein Konto ist bereit."},
}


def render(lang, *, name):
    """Subject and body of the template for ``lang``, with every field a template may use."""
    template = TEMPLATES[lang]
    parts = name.split()
    fields = {"name": name.strip(), "first_name": parts[0] if parts else "there"}
    return template["subject"], template["body"].format_map(fields)
''')],
}
