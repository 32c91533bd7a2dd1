"""Converts the page to int and keeps ``offset = page * size``: the crash stops, earlier answers are
unchanged, and every page still starts one page too late."""
BASE = "search_page_offset"
FLAW = "wrong-value"
FIX = {"search/__init__.py": [('    offset = data["page"] * size\n    return {"page": data["page"],',
                               '    offset = int(data["page"]) * size\n    return {"page": int(data["page"]),')]}
