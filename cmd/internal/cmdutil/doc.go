// Package cmdutil holds what both sessfs commands, sessgc and sessbench,
// share: the error type that carries an exit code and the one place that
// maps errors to codes, the I/O streams with their terminal check, the
// signal handling that turns Ctrl-C into exit status 130, the --version
// string, and the atomic file writer for the files the commands produce.
//
// Each command lives in cmd/NAME/internal/root (the tree and Main) and one
// package per leaf command, cmd/NAME/internal/LEAF, with LEAFOptions,
// NewCmdLEAF(io, runF) and an unexported leafRun(opts); runF is the test
// seam.
package cmdutil
