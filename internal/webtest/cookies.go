package webtest

import (
	"fmt"
	"net/http"
	"time"
)

// ExpiresIn describes c's Expires for a line that two stores' answers are
// compared by: "none", "epoch" (a deletion) or "~Nm", the minutes from now
// rounded, so that the second or two between the two stores' answers do
// not tell them apart.
func ExpiresIn(c *http.Cookie) string {
	switch {
	case c.Expires.IsZero():
		return "none"
	case c.Expires.Before(time.Unix(86400, 0)):
		return "epoch"
	default:
		return fmt.Sprintf("~%dm", (time.Until(c.Expires)+30*time.Second)/time.Minute)
	}
}
