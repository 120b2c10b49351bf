"""Questionnaires: instruments as data files, responses, scoring, statistics, outcome reports,
research exports and imports (docs/questionnaires.md)."""
