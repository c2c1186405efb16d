"""Results in the browser: a survey's results page for investigators, its shared variant behind a revocable link."""
