// Package keygen implements `sessgc keygen`, which prints a new encryption
// key line for a key file.
package keygen

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/keyrecipe"
)

// KeygenOptions are the settings of keygen; flags bind to its fields.
type KeygenOptions struct {
	IO *cmdutil.IOStreams
	ID uint32
}

// NewCmdKeygen returns the keygen command. runF, when not nil, replaces the
// generation; tests use it to check flag parsing.
func NewCmdKeygen(io *cmdutil.IOStreams, runF func(*KeygenOptions) error) *cobra.Command {
	opts := &KeygenOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "keygen --id N",
		Short: "Print a new random encryption key line (\"ID BASE64SECRET\") for a key file",
		Long: `Print a new random 256-bit key as one key-file line, "ID BASE64SECRET", on
stdout. The ID names the key in record headers: pick one not used before in
this store (1 for the first key, then 2, 3...).

A key file lists the newest key FIRST (new writes use it; reads accept every
key) and must be readable by its owner only: run the commands below as the
applications' user (sudo -u app sh -c '...'), or the file is root's and
the applications cannot read it. Make each key once, on one host, and copy
the file from there to every host: each run makes a new secret, so keys
made on each host differ, and the hosts fail with "wrong key". Rotate in
this order (see docs/operations.md): add the new key AFTER the current
ones and deploy the file to every host, so that every host can read it;
once every host has it, move it first and deploy again, so that new writes
use it; then run "sessgc rekey"; then drop the old key. Putting the new key
first in one step makes the hosts not yet deployed fail to read what the
others write.`,
		Example: `  # First key, on one host (then copy the file to every host); ln
  # refuses to replace a keys file that exists, and a failed command (a
  # full disk) leaves none:
  ` + strings.Join(keyrecipe.FirstKey("/etc/sessfs/keys"), " &&\n    ") + `

  # Rotation, step 1, on one host: the new key AFTER the current ones
  # (then copy the file to every host); with && a failed command (a
  # full disk) leaves the keys file as it was, and where key 2 is there
  # already (run twice) nothing is done:
  ! grep -q '^2 ' /etc/sessfs/keys &&
    (umask 077; { cat /etc/sessfs/keys && sessgc keygen --id 2; } > /etc/sessfs/keys.new) &&
    mv /etc/sessfs/keys.new /etc/sessfs/keys

  # Step 2, once every host has it: key 2 first, on every host:
  (umask 077; { grep '^2 ' /etc/sessfs/keys && grep -v '^2 ' /etc/sessfs/keys; } > /etc/sessfs/keys.new) &&
    mv /etc/sessfs/keys.new /etc/sessfs/keys`,
		Args: cmdutil.NoArgs("the key ID is given with --id"),
		RunE: pass.RunE(io, opts, opts.validate, runF, keygenRun),
	}
	cmdutil.IntVarP(cmd.Flags(), &opts.ID, "id", "", 0, "key ID, 1 to 4294967295, not used before in this store (required)")
	return cmd
}

func (o *KeygenOptions) validate() error {
	if o.ID == 0 {
		return cmdutil.UsageErrorf("--id: want a key ID from 1 to %d (0 means plaintext)", uint32(1<<32-1))
	}
	return nil
}

func keygenRun(_ context.Context, opts *KeygenOptions) error {
	k, err := fsstore.NewKey(opts.ID)
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: fmt.Errorf("generating a key: %w", err)}
	}
	if _, err := fmt.Fprintln(opts.IO.Out, k.SecretLine()); err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: fmt.Errorf("writing the key: %w", err)}
	}
	return nil
}
