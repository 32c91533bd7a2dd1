"""Dispatch: delivery-time estimates for the food delivery app."""
from smartworker import handler
from vendor.geokit import geocode

from .route import courier_position, riding_minutes


@handler("delivery-eta")
def delivery_eta(data):
    """Minutes until the order reaches the customer: the courier rides to the restaurant, waits for
    the food if it is not ready, and rides on to the customer's postcode. Whole minutes, rounded up."""
    restaurant = geocode(data["restaurant_postcode"])
    customer = geocode(data["customer_postcode"])
    courier = courier_position(data["courier"])
    to_restaurant = riding_minutes(courier, (restaurant["lat"], restaurant["lng"]))
    waiting = max(0, data.get("ready_in_minutes", 0) - to_restaurant)
    to_customer = riding_minutes((restaurant["lat"], restaurant["lng"]), (customer["lat"], customer["lng"]))
    total = to_restaurant + waiting + to_customer
    return {"order": data["order"], "eta_minutes": -int(-total // 1)}
