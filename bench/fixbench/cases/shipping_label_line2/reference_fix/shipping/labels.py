"""Label layout."""


def format_address(address):
    """Lines of an address: name, street line(s), "POSTCODE CITY", the country code in capitals.

    ``line2`` (flat, floor, ...) is optional.
    """
    lines = [address["name"], address["line1"]]
    line2 = (address.get("line2") or "").strip()
    if line2:
        lines.append(line2)
    lines.append(f"{address['postcode']} {address['city']}")
    lines.append(address["country"].upper())
    return lines


def build_label(order):
    """The label for one order."""
    return {
        "order_id": order["id"],
        "service": order.get("service", "standard"),
        "lines": format_address(order["ship_to"]),
    }
