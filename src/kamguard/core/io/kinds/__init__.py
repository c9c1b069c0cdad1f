"""The kinds this package provides itself: `org` (departments and teams) and `users` (people)."""
