package root_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/root"
)

// A short benchmark of two directories as "sessbench run" runs it, with
// the report as JSON: one result per target, workload, payload size and
// concurrency, the targets interleaved. In real use the first --dir is the
// shared mount and the second a local disk (add --redis host:port to
// compare with Redis); here both are temporary directories.
func Example_run() {
	tmp, err := os.MkdirTemp("", "sessbench-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	shared, local := filepath.Join(tmp, "shared"), filepath.Join(tmp, "local")
	for _, d := range []string{shared, local} {
		if err := os.Mkdir(d, 0o755); err != nil {
			panic(err)
		}
	}

	var out bytes.Buffer
	io := &cmdutil.IOStreams{Out: &out, ErrOut: os.Stdout, Getenv: os.Getenv}
	code := cmdutil.Execute(context.Background(), io, root.NewCmdRoot(io), []string{"run",
		"--dir", shared, "--dir", local,
		"--workload", "cycle,load", "--size", "1KiB", "--concurrency", "1,4",
		"--ops", "40", "--rounds", "2", "--warmup", "0", "--durability", "none", "--json"})

	var rep struct {
		Results []struct {
			Target, Workload string
			PayloadBytes     int    `json:"payload_bytes"`
			Concurrency      int    `json:"concurrency"`
			Ops              uint64 `json:"ops"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		panic(err)
	}
	fmt.Println("exit", code)
	for _, r := range rep.Results {
		fmt.Printf("%s: %s, %d bytes, %d clients: %d ops\n", filepath.Base(r.Target), r.Workload, r.PayloadBytes, r.Concurrency, r.Ops)
	}
	// Output:
	// exit 0
	// shared: cycle, 1024 bytes, 1 clients: 40 ops
	// local: cycle, 1024 bytes, 1 clients: 40 ops
	// shared: cycle, 1024 bytes, 4 clients: 40 ops
	// local: cycle, 1024 bytes, 4 clients: 40 ops
	// shared: load, 1024 bytes, 1 clients: 40 ops
	// local: load, 1024 bytes, 1 clients: 40 ops
	// shared: load, 1024 bytes, 4 clients: 40 ops
	// local: load, 1024 bytes, 4 clients: 40 ops
}
