"""Localisation: translators upload a JSON file of strings per locale from the translation portal."""
from smartworker import handler

from .importer import import_strings

handler("import-translations")(import_strings)
