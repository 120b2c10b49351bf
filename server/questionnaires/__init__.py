"""Questionnaires: instruments, answering, triggers, consent, scores and outcomes."""
