"""J&F as the official DAVIS 2017 evaluation computes it, and evaluating result trees."""
