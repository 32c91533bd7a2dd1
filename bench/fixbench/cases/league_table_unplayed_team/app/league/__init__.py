"""Sunday league: the standings page."""
from smartworker import handler


def _row(team):
    played = team["won"] + team["drawn"] + team["lost"]
    return {
        "team": team["name"],
        "played": played,
        "points": 3 * team["won"] + team["drawn"],
        "goal_diff": team["goals_for"] - team["goals_against"],
        "goals_for": team["goals_for"],
    }


@handler("league-table")
def league_table(data):
    """Standings: points (3 a win, 1 a draw), then goal difference, then goals scored, then name.

    Teams that joined mid-season appear with zeros until their first match.
    """
    rows = sorted((_row(t) for t in data["teams"]), key=lambda r: (-r["points"], -r["goal_diff"], -r["goals_for"], r["team"]))
    return {"division": data["division"], "table": [{"position": i + 1, **r} for i, r in enumerate(rows)]}
