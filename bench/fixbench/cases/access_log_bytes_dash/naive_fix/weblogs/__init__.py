"""Traffic stats from the edge servers' access logs (combined log format), one chunk per job."""
import re
from collections import Counter

from smartworker import handler

LINE = re.compile(
    r'(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" '
    r'(?P<status>\d{3}) (?P<bytes>\d+)'
)


def parse_line(line):
    m = LINE.match(line)
    if m is None:
        return None
    return {"path": m.group("path").split("?")[0], "status": m.group("status"), "bytes": int(m.group("bytes"))}


@handler("access-log-stats")
def access_log_stats(data):
    """Requests, bytes sent and requests per status for a chunk of ``lines``, plus the most requested path."""
    parsed = (parse_line(line) for line in data["lines"] if line.strip())
    requests = [r for r in parsed if r is not None]
    paths = Counter(r["path"] for r in requests)
    return {
        "server": data["server"],
        "requests": len(requests),
        "bytes": sum(r["bytes"] for r in requests),
        "by_status": dict(sorted(Counter(r["status"] for r in requests).items())),
        "top_path": paths.most_common(1)[0][0] if paths else None,
    }
