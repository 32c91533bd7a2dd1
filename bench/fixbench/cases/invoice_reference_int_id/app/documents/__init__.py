"""Where generated documents are stored."""
from smartworker import handler


@handler("invoice-pdf-path")
def invoice_pdf_path(data: dict) -> dict:
    """Storage key of an invoice PDF: ``invoices/<year>/<customer-slug>/INV-<order id as 8 digits>.pdf``."""
    year = data["issued_on"][:4]
    slug = "-".join(data["customer_name"].lower().split())
    number = data["order_id"].zfill(8)
    return {"key": f"invoices/{year}/{slug}/INV-{number}.pdf"}
