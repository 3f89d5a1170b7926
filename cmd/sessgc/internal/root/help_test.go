package root_test

import (
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/root"
)

func TestHelpFits(t *testing.T) {
	cmdtest.HelpFits(t, root.NewCmdRoot(&cmdutil.IOStreams{Getenv: func(string) string { return "" }}))
}
