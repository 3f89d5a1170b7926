package fsstore

// OutcomeOfForTest classifies err as the Observer would.
func OutcomeOfForTest(err error) Outcome { return outcomeOf(err) }
