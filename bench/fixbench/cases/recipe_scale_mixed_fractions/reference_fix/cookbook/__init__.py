"""Cookbook: recipe pages scaled to the reader's number of servings."""
from smartworker import handler


def parseQuantity(qty):
    if isinstance(qty, (int, float)):
        return float(qty)
    # "1 1/2" is a whole number and a fraction; add the parts.
    total = 0.0
    for part in qty.split():
        if "/" in part:
            num, den = part.split("/")
            total += float(num) / float(den)
        else:
            total += float(part)
    return total


@handler("scale-recipe")
def scaleRecipe(data):
    """Scale every ingredient from the recipe's ``serves`` to the reader's ``servings``.

    Quantities are numbers or kitchen notation ("3/4", "1 1/2"); an ingredient without a
    quantity ("salt to taste") stays without one. Scaled quantities are rounded to 2 decimals.
    """
    factor = data["servings"] / data["serves"]
    scaled = []
    for ingredient in data["ingredients"]:
        qty = ingredient.get("qty")
        scaled.append({
            "name": ingredient["name"],
            "qty": None if qty is None else round(parseQuantity(qty) * factor, 2),
            "unit": ingredient.get("unit"),
        })
    return {"recipe": data["recipe"], "servings": data["servings"], "ingredients": scaled}
