"""Routing: agent presence (across tabs and nodes), capacity, auto-assignment and
transfer between agents and teams."""
