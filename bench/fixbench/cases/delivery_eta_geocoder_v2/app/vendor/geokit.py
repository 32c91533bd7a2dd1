"""geokit 2.0 (vendored): postcode centroids.

Changes in 2.0: ``geocode`` returns ``{"lat": ..., "lng": ...}`` instead of a ``(lat, lon)``
tuple, so callers can add fields later without breaking.
"""

_CENTROIDS = {
    "10115": (52.5323, 13.3846),
    "10117": (52.5170, 13.3889),
    "10178": (52.5219, 13.4086),
    "10243": (52.5126, 13.4395),
    "10405": (52.5335, 13.4244),
    "12043": (52.4812, 13.4381),
}


class UnknownPostcode(KeyError):
    pass


def geocode(postcode):
    """The centroid of a postcode as ``{"lat": degrees, "lng": degrees}``."""
    try:
        lat, lng = _CENTROIDS[postcode.strip()]
    except KeyError:
        raise UnknownPostcode(postcode) from None
    return {"lat": lat, "lng": lng}
