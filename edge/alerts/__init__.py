"""Alert rules over the stored samples, and the channels that tell people."""
