"""Sales report: ``regions.keys()[0]`` was Python 2; a dict view is not subscriptable (TypeError).
The fix takes the best region with ``max(..., key=...)``, which is what the first key of the sorted
dict was for; the sorting and indexing go."""

KIND = "wrong-access"
STYLES = ("api-migration", "rewrite", "drops-call")
HANDLER = "region-report"

APP = {"salesreport/__init__.py": '''
"""Sales report: revenue per region and the best region."""
from collections import OrderedDict

from smartworker import handler


@handler("region-report")
def region_report(data):
    """Revenue per region from ``sales`` (``region``, ``cents``) and the region with the most (ties: the
    first in alphabetical order)."""
    regions = {}
    for sale in data["sales"]:
        regions[sale["region"]] = regions.get(sale["region"], 0) + sale["cents"]
    ranked = OrderedDict(sorted(regions.items(), key=lambda kv: (-kv[1], kv[0])))
    return {"regions": regions, "best": ranked.keys()[0] if ranked else None}
'''}

FAILING = {"sales": [{"region": "north", "cents": 500}, {"region": "east", "cents": 900},
                     {"region": "north", "cents": 400}]}
ERROR = "TypeError"
EXPECTED = {"regions": {"north": 900, "east": 900}, "best": "east"}

HISTORY = [{"sales": []}]

ACCEPTANCE = [
    ({"sales": []}, {"regions": {}, "best": None}),
    ({"sales": [{"region": "west", "cents": 1}]}, {"regions": {"west": 1}, "best": "west"}),
    ({"sales": [{"region": "b", "cents": 2}, {"region": "a", "cents": 1}]}, {"regions": {"b": 2, "a": 1}, "best": "b"}),
]

FIX = {"salesreport/__init__.py": '''
"""Sales report: revenue per region and the best region."""
from smartworker import handler


@handler("region-report")
def region_report(data):
    """Revenue per region from ``sales`` (``region``, ``cents``) and the region with the most (ties: the
    first in alphabetical order)."""
    regions = {}
    for sale in data["sales"]:
        regions[sale["region"]] = regions.get(sale["region"], 0) + sale["cents"]
    best = min(regions, key=lambda region: (-regions[region], region)) if regions else None
    return {"regions": regions, "best": best}
'''}
