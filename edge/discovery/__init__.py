"""Discovery for engineers plugging in a new machine: what is there, and in what form."""
