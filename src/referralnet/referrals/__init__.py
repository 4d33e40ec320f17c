"""Closed-loop referrals: offers to providers, acceptance, reserved places, deadlines, follow-up."""
