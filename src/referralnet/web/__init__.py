"""Web pages: the one-click offer answers and the locally served API explorer."""
