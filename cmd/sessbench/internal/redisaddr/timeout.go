package redisaddr

import (
	"errors"
	"math"
	"net"
	"os"
	"time"
)

// AnswerBase is how long sessbench waits for a Redis server to answer a
// command that carries no session: the round trip and the server's work
// take milliseconds; a server that takes seconds has stopped answering
// (hung, stopped, or a network that drops its packets).
const AnswerBase = 5 * time.Second

// MinLinkRate is the slowest link, in bytes a second, that AnswerTimeout
// allows for carrying sessions to and from the server: 1 MiB/s (8 Mbit/s).
const MinLinkRate = 1 << 20

// maxAnswer bounds AnswerTimeout, so that a run of many large sessions
// still takes a server that stopped answering for silent within the hour.
const maxAnswer = time.Hour

// AnswerTimeout is how long sessbench waits for a Redis server's answer to
// one command, and to send one, when clients clients may each carry a
// session of payload bytes at once: AnswerBase, plus the time a link of
// MinLinkRate takes to carry all of them, since they share the one link to
// the server (a 1 MiB session each for 64 clients: 5 s + 64 s). A fixed
// 5 s failed a run of large sessions over a slow link, which is no
// silent server. Rounded to the second, at most an hour.
func AnswerTimeout(payload, clients int) time.Duration {
	carry := float64(max(payload, 0)) * float64(max(clients, 1)) / MinLinkRate * float64(time.Second)
	d := float64(AnswerBase) + carry
	if d >= float64(maxAnswer) || math.IsNaN(d) {
		return maxAnswer
	}
	return time.Duration(d).Round(time.Second)
}

// IsTimeout reports whether err is a command's deadline passing without
// an answer from the server, as go-redis and redigo report it.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
