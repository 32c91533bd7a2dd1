"""Search results: the new front end sends ``page`` as a string, and ``"2" * 10`` makes a string
offset that slicing rejects (TypeError). Pages are numbered from 1, but the offset was
``page * size``, so every earlier page 1 skipped the first results: the fix converts the page and
starts page 1 at offset 0, rightly changing those earlier answers."""

KIND = "off-by-one"
STYLES = ("changes-history", "small-edit")
HANDLER = "search-page"

APP = {"search/__init__.py": '''
"""Search: one page of matching products."""
from smartworker import handler


@handler("search-page")
def search_page(data):
    """Page ``page`` (from 1) of the ``matches``, ``size`` a page (default 3)."""
    size = data.get("size", 3)
    offset = data["page"] * size
    return {"page": data["page"], "items": data["matches"][offset:offset + size]}
'''}

FAILING = {"page": "2", "matches": ["a", "b", "c", "d", "e"], "size": 2}
ERROR = "TypeError"
EXPECTED = {"page": 2, "items": ["c", "d"]}

HISTORY = [{"page": 1, "matches": ["a", "b", "c", "d"]}, {"page": 3, "matches": ["a"]}]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"page": 1, "matches": ["a", "b", "c", "d"]}, {"page": 1, "items": ["a", "b", "c"]}),
    ({"page": 3, "matches": ["a"]}, {"page": 3, "items": []}),
    ({"page": "1", "matches": ["x"], "size": 10}, {"page": 1, "items": ["x"]}),
]

FIX = {"search/__init__.py": [(
    '''    offset = data["page"] * size
    return {"page": data["page"], "items": data["matches"][offset:offset + size]}
''',
    '''    page = int(data["page"])
    offset = (page - 1) * size
    return {"page": page, "items": data["matches"][offset:offset + size]}
''')]}
