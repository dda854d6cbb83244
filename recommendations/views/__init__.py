"""The web pages, one module per area. Only the URLconf imports from here."""
