"""Child death reviews: the CDOP coordinator's commands over ``child_death_review`` cases."""
