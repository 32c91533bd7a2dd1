"""Podcasts: show pages built from the hosts' RSS feeds (already parsed to JSON by the fetcher)."""
from smartworker import handler


def duration_seconds(text: str) -> int:
    """Seconds in an ``itunes:duration`` value."""
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


def clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


@handler("show-page")
def show_page(data: dict) -> dict:
    """Episode list with lengths, and the show's total listening time (h:mm:ss)."""
    episodes = [{"title": ep["title"], "seconds": duration_seconds(ep["duration"])} for ep in data["episodes"]]
    return {"show": data["show"], "episodes": episodes, "total": clock(sum(e["seconds"] for e in episodes))}
