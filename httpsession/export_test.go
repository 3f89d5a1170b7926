package httpsession

// SetIDGen makes m draw fresh session IDs from gen, for tests that need to
// know which lock stripe a fresh ID falls on.
func SetIDGen(m *Manager, gen func() (string, error)) { m.idGen = gen }

// MaxDomainWarnings is how many hosts a Manager warns about a Cookie.Domain
// they are not in.
const MaxDomainWarnings = maxDomainWarnings
