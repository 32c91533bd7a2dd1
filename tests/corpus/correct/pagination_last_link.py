"""Pagination links: ``total // per_page`` counts only full pages, so a result smaller than one page
has no pages and ``links[-1]`` raises IndexError; the same floor left earlier results without their
last, partial page (45 items at 20 a page reported 2 pages). The fix rounds up (at least one page)
and rightly changes those earlier answers."""

KIND = "integer-division"
STYLES = ("small-edit", "changes-history")
HANDLER = "page-links"

APP = {"paging/__init__.py": '''
"""Paging: the links a search result page shows."""
from smartworker import handler


@handler("page-links")
def page_links(data):
    """Links to every page of ``total`` results at ``per_page`` a page, and the last page's link."""
    pages = data["total"] // data["per_page"]
    links = [f"/search?q={data['q']}&page={page}" for page in range(1, pages + 1)]
    return {"pages": pages, "first": links[0], "last": links[-1]}
'''}

FAILING = {"q": "lamp", "total": 7, "per_page": 20}
ERROR = "IndexError"
EXPECTED = {"pages": 1, "first": "/search?q=lamp&page=1", "last": "/search?q=lamp&page=1"}

HISTORY = [
    {"q": "desk", "total": 45, "per_page": 20},
    {"q": "chair", "total": 40, "per_page": 20},
    {"q": "sofa", "total": 100, "per_page": 25},
]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"q": "desk", "total": 45, "per_page": 20},
     {"pages": 3, "first": "/search?q=desk&page=1", "last": "/search?q=desk&page=3"}),
    ({"q": "chair", "total": 40, "per_page": 20},
     {"pages": 2, "first": "/search?q=chair&page=1", "last": "/search?q=chair&page=2"}),
    ({"q": "none", "total": 0, "per_page": 10},
     {"pages": 1, "first": "/search?q=none&page=1", "last": "/search?q=none&page=1"}),
]

FIX = {"paging/__init__.py": [(
    'pages = data["total"] // data["per_page"]',
    '# An empty result still shows one (empty) page.\n    pages = max(1, -(-data["total"] // data["per_page"]))',
)]}
