//go:build unix

package fstab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnmountedShareMountBelow: a directory below a mount point that
// fstab lists and nothing is mounted on is no unmounted share when a file
// system is mounted on it or between it and that point: a container's
// volume below a mount point of the fstab its image brought along, or a
// share mounted by hand or by an autofs map below a disk that failed to
// mount. Refused, the application could not start on its volume; with
// nothing mounted in between it is refused as before.
func TestUnmountedShareMountBelow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mounted string // MNT stands for the fstab entry's mount point; "" for none
		dir     string
		refused bool
	}{
		{name: "nothing mounted", dir: "MNT/app/sessions", refused: true},
		{name: "a volume on the directory", mounted: "MNT/app/sessions", dir: "MNT/app/sessions"},
		{name: "a volume between", mounted: "MNT/app", dir: "MNT/app/sessions"},
		{name: "a volume between, the directory missing", mounted: "MNT/app", dir: "MNT/app/missing/sessions"},
		{name: "a mount beside", mounted: "MNT/other", dir: "MNT/app/sessions", refused: true},
		{name: "a mount above the entry's point", mounted: "ROOT", dir: "MNT/app/sessions", refused: true},
		{name: "the entry's point itself, dir below", mounted: "MNT", dir: "MNT/app/sessions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mnt := filepath.Join(root, "mnt")
			if err := os.MkdirAll(filepath.Join(mnt, "app", "sessions"), 0o700); err != nil {
				t.Fatal(err)
			}
			tab := filepath.Join(root, "fstab")
			if err := os.WriteFile(tab, []byte("/dev/sdb1 "+mnt+" xfs defaults,nofail 0 2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := strings.NewReplacer("MNT", mnt, "ROOT", root)
			mounted := r.Replace(tc.mounted)
			h := Hosts{Fstab: tab, Mounted: func(p string) bool { return tc.mounted != "" && p == mounted }}
			why := h.UnmountedShare(r.Replace(tc.dir))
			if refused := why != ""; refused != tc.refused {
				t.Errorf("UnmountedShare(%s) with %q mounted = %q; want refused %v", tc.dir, tc.mounted, why, tc.refused)
			}
		})
	}
}

// TestFstabEntryHoldingAsMount: each line is read as mount(8) reads it
// (util-linux libmount): comments after blanks, blank lines, fields split
// at spaces and tabs only, the options and the dump and pass fields left
// out, octal escapes undone in every field (a backslash not followed by
// three octal digits kept), "\r\n" ends a line, and a mount point is not
// taken for one whose name starts with it. An entry read otherwise would
// refuse a good store, or miss one left on the local disk below a share
// that failed to mount.
func TestFstabEntryHoldingAsMount(t *testing.T) {
	for _, tc := range []struct {
		name, fstab, dir string
		want             string // the mount point found; "" for none
	}{
		{"comment", "# srv:/e MNT nfs4 defaults 0 0\n", "MNT/s", ""},
		{"comment after blanks", " \t# srv:/e MNT nfs4 defaults 0 0\n", "MNT/s", ""},
		{"blank lines", "\n \t\n\nsrv:/e MNT nfs4 defaults 0 0\n", "MNT/s", "MNT"},
		{"type only", "srv:/e MNT nfs4\n", "MNT/s", "MNT"},
		{"no type", "srv:/e MNT\n", "MNT/s", ""},
		{"tabs, trailing blanks, more than 6 fields", "srv:/e\tMNT\t nfs4\tdefaults\t0\t0 # efs \t\n", "MNT/s", "MNT"},
		{"LABEL= source", "LABEL=data MNT xfs defaults 0 2\n", "MNT/s", "MNT"},
		{"UUID= source, no final newline", "UUID=0b1c-2d3e MNT ext4 defaults 0 2", "MNT/s", "MNT"},
		{"escaped space: not a prefix", `srv:/e MNT\040b nfs4 defaults 0 0` + "\n", "MNT/s", ""},
		{"escaped space", `srv:/e MNT\040b nfs4 defaults 0 0` + "\n", "MNT b/s", "MNT b"},
		{"escaped tab", `srv:/e MNT\011b nfs4 defaults 0 0` + "\n", "MNT\tb/s", "MNT\tb"},
		{"escaped newline", `srv:/e MNT\012b nfs4 defaults 0 0` + "\n", "MNT\nb/s", "MNT\nb"},
		{"escaped backslash", `srv:/e MNT\134b nfs4 defaults 0 0` + "\n", `MNT\b/s`, `MNT\b`},
		{"backslash without three octal digits", `srv:/e MNT\08 nfs4 defaults 0 0` + "\n", `MNT\08/s`, `MNT\08`},
		{"vertical tab in the mount point", "srv:/e MNT\vb nfs4 noauto 0 0\n", "MNT/s", ""},
		{"no-break space in the mount point", "srv:/e MNT\u00a0b nfs4 defaults 0 0\n", "MNT\u00a0b/s", "MNT\u00a0b"},
		{"noauto last, CRLF", "srv:/e MNT nfs4 defaults,noauto\r\n", "MNT/s", ""},
		{"noauto last, two CRs: one is the option's", "srv:/e MNT nfs4 defaults,noauto\r\r\n", "MNT/s", "MNT"},
		{"escaped noauto", `srv:/e MNT nfs4 no\141uto 0 0` + "\n", "MNT/s", ""},
		{"escaped swap", `/dev/sdb2 MNT sw\141p sw 0 0` + "\n", "MNT/s", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := filepath.Join(t.TempDir(), "mnt")
			r := strings.NewReplacer("MNT", mnt)
			e, ok := fstabEntryHolding(strings.NewReader(r.Replace(tc.fstab)), resolveExisting(r.Replace(tc.dir)))
			if want := r.Replace(tc.want); e.point != want || ok != (tc.want != "") {
				t.Errorf("fstab %q, dir %q: got %q (found %v), want %q", tc.fstab, tc.dir, e.point, ok, want)
			}
		})
	}
}

// TestMisreadShare: a line whose fields are separated by a no-break space
// (U+00A0) or \v, as a line pasted from a web page may be, is no entry to
// mount(8), so nothing mounts the share; read as mount reads it, a store
// below its mount point that failed to mount was accepted on the local
// disk without a word. Split at every white space it names the mount
// point, and a warning says so, with the line and the character. Not
// where that point is mounted, where an entry mount reads holds the
// directory as closely, or where the line is well formed.
func TestMisreadShare(t *testing.T) {
	for _, tc := range []struct {
		name    string
		line    string // MNT stands for the mount point
		mounted bool
		dir     string
		want    string // "" for no warning
	}{
		{name: "no-break spaces", line: "srv:/export\u00a0MNT\u00a0nfs4\u00a0defaults\u00a00\u00a00", dir: "MNT/sessions",
			want: "FSTAB line 2 names MNT (nfs4 srv:/export) only if split at a no-break space (U+00A0)"},
		{name: "one no-break space", line: "srv:/export MNT\u00a0nfs4 defaults 0 0", dir: "MNT/sessions", want: "line 2 names MNT (nfs4 srv:/export)"},
		{name: "vertical tabs", line: "srv:/export\vMNT\vnfs4\vdefaults", dir: "MNT/sessions", want: "only if split at a vertical tab (\\v)"},
		{name: "ideographic space", line: "srv:/export\u3000MNT nfs4 defaults", dir: "MNT", want: "white space U+3000"},
		{name: "mounted", line: "srv:/export\u00a0MNT\u00a0nfs4\u00a0defaults", mounted: true, dir: "MNT/sessions"},
		{name: "noauto", line: "srv:/export\u00a0MNT\u00a0nfs4\u00a0noauto", dir: "MNT/sessions"},
		{name: "beside", line: "srv:/export\u00a0MNT\u00a0nfs4\u00a0defaults", dir: "MNT-other/sessions"},
		{name: "well formed", line: "srv:/export MNT nfs4 defaults 0 0", dir: "MNT/sessions"},
		{name: "a comment", line: "#\u00a0srv:/export MNT nfs4 defaults", dir: "MNT/sessions"},
		{name: "a well-formed entry as close", line: "srv:/export MNT nfs4 defaults\nsrv:/x\u00a0MNT\u00a0nfs4\u00a0defaults", dir: "MNT/sessions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mnt := filepath.Join(root, "mnt")
			if err := os.MkdirAll(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			tab := filepath.Join(root, "fstab")
			text := "# /etc/fstab\n" + strings.ReplaceAll(tc.line, "MNT", mnt) + "\n"
			if err := os.WriteFile(tab, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			h := Hosts{Fstab: tab, Mounted: func(string) bool { return tc.mounted }}
			dir := strings.ReplaceAll(tc.dir, "MNT", mnt)
			if why := h.UnmountedShare(dir); why != "" && tc.want != "" {
				t.Fatalf("UnmountedShare = %q: mount(8) reads the line as mounting %s", why, mnt)
			}
			got := h.MisreadShare(dir)
			want := strings.NewReplacer("MNT", mnt, "FSTAB", tab).Replace(tc.want)
			if tc.want == "" && got != "" || !strings.Contains(got, want) {
				t.Errorf("MisreadShare(%s) = %q; want %q", dir, got, want)
			}
		})
	}
}
