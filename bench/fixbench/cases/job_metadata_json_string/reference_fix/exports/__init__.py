"""Report exports."""
import json

from smartworker import handler

DEFAULT_COLUMNS = ["id", "date", "amount"]


@handler("export-report")
def export_report(data: dict) -> dict:
    """Plan a report export from ``options``: ``format`` ("csv" or "xlsx", default "csv") and
    ``columns`` (default: id, date, amount). ``options`` may be missing. Other formats fail the job.
    """
    options = data.get("options") or {}
    if isinstance(options, str):  # the legacy producer JSON-encodes nested objects
        options = json.loads(options) if options.strip() else {}
    fmt = options.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unsupported format {fmt!r}")
    columns = options.get("columns") or DEFAULT_COLUMNS
    return {"report": data["report"], "format": fmt, "columns": columns, "filename": f"{data['report']}.{fmt}"}
