"""Catches the AttributeError and reports no variants: every product with variants loses them."""
BASE = "feed_import_getchildren"
FLAW = "swallowed-error"
FIX = {"feeds/__init__.py": [('        products[product.get("sku")] = [] if variants is None else [v.get("sku") for v in variants.getchildren()]\n',
                              '        try:\n            products[product.get("sku")] = [] if variants is None else [v.get("sku") for v in variants.getchildren()]\n        except AttributeError:\n            products[product.get("sku")] = []\n')]}
