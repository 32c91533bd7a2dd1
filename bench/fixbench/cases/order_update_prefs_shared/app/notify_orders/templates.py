TEMPLATES = {
    "en": "Your order {order} is {status}.",
    "de": "Ihre Bestellung {order} ist {status}.",
    "fr": "Votre commande {order} est {status}.",
}


def render(language, **values):
    return TEMPLATES.get(language, TEMPLATES["en"]).format(**values)
