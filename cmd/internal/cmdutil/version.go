package cmdutil

import (
	"runtime/debug"
	"strings"
)

// Version describes the build of the running binary for --version, from
// the build information the go command embeds:
//
//   - "go install github.com/sessfs/sessfs/cmd/sessgc@v1.2.3" records the
//     module version, "v1.2.3" (a pseudo-version for a commit);
//   - "go build" in a git checkout records the commit, its time and
//     whether the tree had uncommitted changes ("modified"; Go also
//     derives a version from the tags, ending in "+dirty" then);
//   - a build without either (-buildvcs=false, a source archive) is
//     "devel".
//
// The Go version that built the binary comes last.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel (no build information)"
	}
	return versionOf(info)
}

func versionOf(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var details []string
	if rev := setting(info, "vcs.revision"); rev != "" {
		rev = rev[:min(len(rev), 12)]
		if !strings.Contains(v, rev) { // a pseudo-version already names it
			details = append(details, "commit "+rev)
		}
		if at := setting(info, "vcs.time"); at != "" {
			details = append(details, at)
		}
		if setting(info, "vcs.modified") == "true" && !strings.HasSuffix(v, "+dirty") {
			details = append(details, "modified")
		}
	}
	if len(details) > 0 {
		v += " (" + strings.Join(details, ", ") + ")"
	}
	return v + ", " + info.GoVersion
}

func setting(info *debug.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
