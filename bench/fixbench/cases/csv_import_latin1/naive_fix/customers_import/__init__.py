"""Customer uploads from the back office."""
import base64
import csv
import io

from smartworker import handler


@handler("import-customers")
def import_customers(data: dict) -> dict:
    """Import customers from an uploaded CSV (base64 in ``file_b64``; columns name, city).

    ``charset`` is the encoding the uploader declared; without one the file is UTF-8.
    """
    raw = base64.b64decode(data["file_b64"])
    text = raw.decode("utf-8", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    customers = [{"name": row["name"].strip(), "city": row["city"].strip()} for row in rows]
    return {"count": len(customers), "customers": customers}
