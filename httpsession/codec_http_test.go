package httpsession_test

import (
	"bytes"
	"encoding/json"
)

// compact returns a payload in compact JSON, to compare with what a test
// expects whatever the layout the codec wrote it in.
func compact(b []byte) string {
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return "invalid JSON: " + string(b)
	}
	return c.String()
}
