"""The domains: practice review, CERAR, MACE. Built on the core; know no front end."""
