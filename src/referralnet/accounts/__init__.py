"""Accounts: bearer tokens, roles and the guards that check them."""
