"""Studies: surveys grouped as waves, participants with a study id and an arm, the key table kept apart."""
