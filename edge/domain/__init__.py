"""The contract of docs/domain.md in code: samples, states, counters, the calendar, intervals."""
