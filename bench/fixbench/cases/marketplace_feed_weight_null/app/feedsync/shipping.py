def shipping_class(weight_kg):
    """Letter up to 0.5 kg, parcel up to 30 kg, freight above; manual when the weight is unknown."""
    if weight_kg is None:
        return "manual"
    if weight_kg <= 0.5:
        return "letter"
    return "parcel" if weight_kg <= 30 else "freight"
