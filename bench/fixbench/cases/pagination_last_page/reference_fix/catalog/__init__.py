"""Product catalogue pages for the storefront cache."""
from smartworker import handler


@handler("catalog-page")
def catalog_page(data: dict) -> dict:
    """One page of ``items``: pages are numbered from 1 with ``per_page`` (default 10) items each.

    ``pages`` is the number of pages; asking for a page that does not exist is an error
    (the caller's link is stale).
    """
    items = data["items"]
    per_page = data.get("per_page", 10)
    pages = -(-len(items) // per_page)  # ceiling: a partial last page counts
    page = data["page"]
    if page < 1 or page > pages:
        raise ValueError(f"page {page} out of range (1..{pages})")
    start = (page - 1) * per_page
    return {"page": page, "pages": pages, "items": items[start : start + per_page]}
