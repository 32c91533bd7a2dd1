"""Tag cloud: tags imported from the old blog have ``weight`` null, and sorting by weight compares
None with int (TypeError). The docstring says unweighted tags come last, alphabetically; the fix's
sort key says the same."""

KIND = "none-optional"
STYLES = ("small-edit",)
HANDLER = "tag-cloud"

APP = {"blogtags/__init__.py": '''
"""Blog tags: the order of the tag cloud."""
from smartworker import handler


@handler("tag-cloud")
def tag_cloud(data):
    """``tags`` by ``weight``, heaviest first, ties alphabetical; unweighted tags last, alphabetical."""
    ordered = sorted(data["tags"], key=lambda tag: (-tag["weight"], tag["name"]))
    return {"cloud": [tag["name"] for tag in ordered[: data.get("limit", 10)]]}
'''}

FAILING = {"tags": [{"name": "python", "weight": 5}, {"name": "misc", "weight": None}, {"name": "go", "weight": 5},
                    {"name": "archive", "weight": None}]}
ERROR = "TypeError"
EXPECTED = {"cloud": ["go", "python", "archive", "misc"]}

HISTORY = [{"tags": [{"name": "a", "weight": 1}, {"name": "b", "weight": 2}], "limit": 1}]

ACCEPTANCE = [
    ({"tags": [{"name": "a", "weight": 1}, {"name": "b", "weight": 2}], "limit": 1}, {"cloud": ["b"]}),
    ({"tags": [{"name": "z", "weight": None}, {"name": "y", "weight": 0}]}, {"cloud": ["y", "z"]}),
    ({"tags": []}, {"cloud": []}),
]

FIX = {"blogtags/__init__.py": [(
    'key=lambda tag: (-tag["weight"], tag["name"])',
    'key=lambda tag: (tag["weight"] is None, -(tag["weight"] or 0), tag["name"])',
)]}
