"""The business plan (the annual report's Appendix C): the plan file (pure), RAG ratings and
red by rule (pure), and the service over ``business_plan_action`` cases."""
