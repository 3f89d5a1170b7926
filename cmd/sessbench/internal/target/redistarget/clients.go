package redistarget

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMaxClients reports that a run opens more connections to a Redis
// server at once than the server takes: beyond its maxclients it answers
// a new connection with an error and closes it, and a run that went ahead
// failed a share of its operations with a broken pipe, each of which left
// its session's lock behind for lockTTL, and measured the rest.
var ErrMaxClients = errors.New("the run opens more connections at once than the Redis server takes")

// ClientLimit reads a server's maxclients from what CONFIG GET maxclients
// answered (its value) and the clients connected from INFO clients; ok is
// false when either is missing (a server that refuses CONFIG, as managed
// ones and ACL users without +config do).
func ClientLimit(maxclients, infoClients string) (limit, connected int, ok bool) {
	limit, err := strconv.Atoi(strings.TrimSpace(maxclients))
	if err != nil || limit <= 0 {
		return 0, 0, false
	}
	for _, line := range strings.Split(infoClients, "\n") {
		if v, found := strings.CutPrefix(strings.TrimSpace(line), "connected_clients:"); found {
			connected, err = strconv.Atoi(v)
			return limit, connected, err == nil
		}
	}
	return 0, 0, false
}

// CheckClients refuses a run that opens need connections at once to the
// server at addr, whose maxclients is limit, while connected clients are
// connected, own of them the run's (counted in connected, and reused).
func CheckClients(addr string, need, limit, connected, own int) error {
	others := max(connected-own, 0)
	room := limit - others
	if need <= room {
		return nil
	}
	return fmt.Errorf("%w: the Redis at %s takes %d (maxclients %d, %d other clients connected), and the run opens %d: "+
		"lower --concurrency, or raise the server's maxclients", ErrMaxClients, addr, max(room, 0), limit, others, need)
}

// Reserve opens need connections at once, each with open, which checks
// that the server answers on it, and then releases them all: a server
// that refuses one (it reached its maxclients since CheckClients, or
// CONFIG was refused and no limit was known) refuses the run before it
// writes anything. Released connections stay in the client's pool, ready
// for the run.
func Reserve(ctx context.Context, addr string, need int, open func(context.Context) (release func(), err error)) error {
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	for i := range need {
		release, err := open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if strings.Contains(err.Error(), "max number of clients") {
				err = fmt.Errorf("%w: the Redis at %s refused connection %d of the %d the run opens at once (%w): "+
					"lower --concurrency, or raise the server's maxclients", ErrMaxClients, addr, i+1, need, err)
			} else {
				err = fmt.Errorf("the Redis at %s: connection %d of the %d the run opens at once failed (%w): "+
					"the server may be at its maxclients: lower --concurrency, or raise its maxclients", addr, i+1, need, err)
			}
			return err
		}
		held = append(held, release)
	}
	return nil
}
