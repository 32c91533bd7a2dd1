"""A season's leaderboard, ranked by one stat."""
from typing import Any

RANKABLE = ("score", "wins", "kills", "assists")


class Leaderboard:
    """Players of one season, ranked by ``stat`` (highest first; ties keep the players' order)."""

    def __init__(self, season: str, players: list[dict[str, Any]], stat: str = "score") -> None:
        if stat not in RANKABLE:
            raise ValueError(f"cannot rank by {stat!r}")
        self.season = season
        self.players = players
        self.stat = stat

    def top(self, limit: int) -> list[dict[str, Any]]:
        if self.stat == "score":
            ranked = sorted(self.players, key=lambda p: p["score"], reverse=True)
        else:
            ranked = self.players.sort(key=lambda p: p[self.stat], reverse=True)
        return [{"rank": i + 1, "player": p["name"], self.stat: p[self.stat]} for i, p in enumerate(ranked[:limit])]

    @classmethod
    def from_job(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Job entry point: ``season``, ``players``, optional ``sort_by`` (a stat) and ``limit`` (default 10)."""
        board = cls(data["season"], data["players"], data.get("sort_by") or "score")
        return {"season": board.season, "by": board.stat, "top": board.top(data.get("limit", 10))}
