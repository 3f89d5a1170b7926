// Command sessgc garbage-collects a sessfs session store; see docs/operations.md.
package main

import (
	"os"

	"github.com/sessfs/sessfs/cmd/sessgc/internal/root"
)

func main() { os.Exit(root.Main()) }
