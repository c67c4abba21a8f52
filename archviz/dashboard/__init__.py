"""The Dash dashboard: History, Explorer, Compare, Lessons. Reads Profiles from the store; profiles
on demand (importing torch only then)."""
