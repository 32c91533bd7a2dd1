"""The weekly digest e-mail."""
from smartworker import handler


@handler("weekly-digest")
def weekly_digest(data: dict) -> dict:
    """Render the digest body: a numbered list (from 1) of the week's most-read articles.

    At most ``limit`` (default 5) articles, most reads first; ties keep their input order.
    """
    articles = sorted(data["articles"], key=lambda a: a["reads"], reverse=True)
    shown = articles[: data.get("limit", 5)]
    lines = [f"Top {len(shown)} this week:"]
    for i in range(1, len(shown) + 1):
        lines.append(f"{i}. {shown[i]['title']} ({shown[i]['reads']} reads)")
    return {"to": data["to"], "body": "\n".join(lines)}
