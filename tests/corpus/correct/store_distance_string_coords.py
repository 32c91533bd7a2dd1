"""Store finder: the maps widget sends coordinates as strings, and ``math.radians("52.52")``
raises TypeError. The fix converts the four coordinates once, at the top."""

KIND = "type-conversion"
STYLES = ("small-edit",)
HANDLER = "nearest-store"

APP = {"storefinder/__init__.py": '''
"""Store finder: distance from a customer to a store."""
import math

from smartworker import handler


@handler("nearest-store")
def nearest_store(data):
    """Great-circle distance in km (one decimal) from (``lat``, ``lon``) to the store's (``store_lat``,
    ``store_lon``)."""
    lat1, lon1, lat2, lon2 = data["lat"], data["lon"], data["store_lat"], data["store_lon"]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return {"km": round(2 * 6371.0 * math.asin(math.sqrt(a)), 1)}
'''}

FAILING = {"lat": "52.52", "lon": "13.405", "store_lat": "48.137", "store_lon": "11.575"}
ERROR = "TypeError"
EXPECTED = {"km": 504.3}

HISTORY = [{"lat": 52.52, "lon": 13.405, "store_lat": 52.52, "store_lon": 13.405},
           {"lat": 53.551, "lon": 9.993, "store_lat": 52.52, "store_lon": 13.405}]

ACCEPTANCE = [
    ({"lat": 52.52, "lon": 13.405, "store_lat": 52.52, "store_lon": 13.405}, {"km": 0.0}),
    ({"lat": 53.551, "lon": 9.993, "store_lat": 52.52, "store_lon": 13.405}, {"km": 255.3}),
    ({"lat": "0", "lon": "0", "store_lat": 0, "store_lon": "1"}, {"km": 111.2}),
]

FIX = {"storefinder/__init__.py": [(
    'lat1, lon1, lat2, lon2 = data["lat"], data["lon"], data["store_lat"], data["store_lon"]',
    'lat1, lon1, lat2, lon2 = (float(data[key]) for key in ("lat", "lon", "store_lat", "store_lon"))',
)]}
