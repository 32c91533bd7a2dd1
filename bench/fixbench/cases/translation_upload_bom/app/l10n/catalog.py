"""The app's source strings (English): message key -> text with {placeholders}."""

SOURCE = {
    "cart.empty": "Your cart is empty",
    "cart.items": "{count} items in your cart",
    "checkout.pay": "Pay {amount}",
    "greeting": "Hello, {name}!",
    "order.shipped": "Order {order} shipped on {date}",
}
