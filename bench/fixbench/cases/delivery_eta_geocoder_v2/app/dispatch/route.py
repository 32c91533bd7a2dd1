import math

from vendor.geokit import geocode

EARTH_KM = 6371.0
#: Average cycling courier speed in the city, km/h.
COURIER_KMH = 15.0


def distance_km(a, b):
    """Great-circle distance between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


def courier_position(courier):
    """Where the courier is: live GPS when the app sends it, else the postcode of the last drop."""
    if courier.get("gps"):
        return (courier["gps"]["lat"], courier["gps"]["lon"])
    lat, lon = geocode(courier["last_postcode"])
    return (lat, lon)


def riding_minutes(a, b):
    return distance_km(a, b) / COURIER_KMH * 60
