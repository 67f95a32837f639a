"""One screen per module. The main screens are the app's modes (F2..F7); the others are
pushed over them (an order, a form, a dialog)."""
