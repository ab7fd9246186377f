"""The contract of DOMAIN.md in code: samples, states, counters, the calendar, intervals."""
