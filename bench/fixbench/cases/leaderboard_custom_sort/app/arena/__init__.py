"""Arena: season leaderboards for the game's stats service."""
from smartworker import handler

from .board import Leaderboard

handler("season-leaderboard")(Leaderboard.from_job)
