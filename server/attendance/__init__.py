"""Attendance: true raw events, records derived from them, excuses, corrections and reports."""
