"""``max(1, total // per_page)``: the crash stops and earlier answers stay the same, but a result of 45
at 20 a page still has no third page."""
BASE = "pagination_last_link"
FLAW = "wrong-value"
FIX = {"paging/__init__.py": [('pages = data["total"] // data["per_page"]', 'pages = max(1, data["total"] // data["per_page"])')]}
