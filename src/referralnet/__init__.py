"""referralnet: directory, matching and closed-loop referrals for anti-trafficking NGO networks."""

import os

# Piccolo finds its engine and apps through this module; ``referralnet.db.bind`` swaps the engine.
os.environ.setdefault("PICCOLO_CONF", "referralnet.piccolo_conf")

__version__ = "0.1.0"
