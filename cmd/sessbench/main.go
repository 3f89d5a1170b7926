// Command sessbench measures the per-request latency of session stores on a
// shared mount, on local disk and in Redis. Run "sessbench run --help", and
// "sessbench help run-report" for what its numbers are.
package main

import (
	"os"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/root"
)

func main() { os.Exit(root.Main()) }
