package scsstore

// NoTokenHashed is noTokenHashed, for the tests.
const NoTokenHashed = noTokenHashed
