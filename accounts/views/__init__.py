"""The portal's views, one module per page family; ``accounts/urls.py`` routes them."""
