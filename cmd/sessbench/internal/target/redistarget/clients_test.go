package redistarget

import (
	"errors"
	"testing"
)

// TestClientLimit: the clients a server takes are its maxclients less the
// clients connected that are not the run's own; a server that does not
// tell either is not judged here (Reserve finds out).
func TestClientLimit(t *testing.T) {
	info := "# Clients\r\nconnected_clients:5\r\ncluster_connections:0\r\nmaxclients:10000\r\n"
	for _, tt := range []struct {
		name, maxclients, info string
		need, own              int
		known, refused         bool
	}{
		{"room", "24", info, 20, 1, true, false},
		{"exactly full", "24", info, 20, 1, true, false},
		{"one too many", "24", info, 21, 1, true, true},
		{"own connections not counted twice", "24", info, 24, 5, true, false},
		{"CONFIG refused", "", info, 1000, 1, false, false},
		{"INFO refused", "24", "", 1000, 1, false, false},
		{"nonsense", "many", info, 1000, 1, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			limit, connected, ok := ClientLimit(tt.maxclients, tt.info)
			if ok != tt.known {
				t.Fatalf("ClientLimit(%q): known %v, want %v", tt.maxclients, ok, tt.known)
			}
			if !ok {
				return
			}
			err := CheckClients("host:6379", tt.need, limit, connected, tt.own)
			if (err != nil) != tt.refused || (err != nil && !errors.Is(err, ErrMaxClients)) {
				t.Errorf("CheckClients(need %d, maxclients %d, %d connected, %d own): %v, want refused %v (ErrMaxClients)", tt.need, limit, connected, tt.own, err, tt.refused)
			}
		})
	}
}
