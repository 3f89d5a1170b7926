package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manifests is deploy/kubernetes, the directory above this module.
const manifests = ".."

func TestManifests(t *testing.T) {
	objs, err := Load(manifests)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(objs); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.Kind]++
	}
	want := map[string]int{"StorageClass": 1, "PersistentVolumeClaim": 1, "Deployment": 2, "Service": 2, "CronJob": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s, want %d", kinds[k], k, n)
		}
	}
}

// TestCatchesMistakes changes one thing in a copy of the manifests and
// checks that the validator refuses it: the checks are not vacuous.
func TestCatchesMistakes(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"misspelled field", "app.yaml", "readinessProbe:", "readinesProbe:", `unknown field "readinesProbe"`},
		{"wrong type", "app.yaml", "replicas: 3", `replicas: "three"`, "cannot unmarshal"},
		{"bad quantity", "pvc.yaml", "storage: 5Gi", "storage: 5 gigs", "quantities must match"},
		{"unknown kind", "pvc.yaml", "kind: PersistentVolumeClaim", "kind: PersistentVolumeClame", "unknown apiVersion/kind"},
		{"ReadWriteOnce", "pvc.yaml", "- ReadWriteMany", "- ReadWriteOnce", "ReadWriteMany"},
		{"not EFS", "storageclass.yaml", "provisioner: efs.csi.aws.com", "provisioner: ebs.csi.aws.com", "want efs.csi.aws.com"},
		{"no fixed uid", "storageclass.yaml", `uid: "65532"`, "", "parameter uid missing"},
		{"soft mount", "storageclass.yaml", "- hard", "- soft", "soft breaks sessfs"},
		{"overlapping sweeps", "sessgc-cronjob.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow", "want Forbid"},
		{"fleet lock off", "sessgc-cronjob.yaml", "- --quiet", "- --no-fleet-lock", "keep the fleet lock on"},
		{"textfile in the store", "sessgc-cronjob.yaml", "--textfile=/mnt/efs/sessgc.prom", "--textfile=/mnt/efs/sessions/sessgc.prom", "is inside --dir"},
		{"textfile in the store, uncleaned", "sessgc-cronjob.yaml", "--textfile=/mnt/efs/sessgc.prom", "--textfile=/mnt/efs/./sessions//sessgc.prom", "is inside --dir"},
		{"textfile off the volume", "sessgc-cronjob.yaml", "--textfile=/mnt/efs/sessgc.prom", "--textfile=/tmp/sessgc.prom", "metrics would be lost"},
		{"root", "app.yaml", "runAsUser: 65532", "runAsUser: 0", "non-root"},
		{"selector mismatch", "app.yaml", "      app.kubernetes.io/name: sessfs-app\n  template:", "      app.kubernetes.io/name: other\n  template:", "does not select"},
		{"probe port", "app.yaml", "port: http\n", "port: web\n", `probe port "web"`},
		{"no readiness probe", "app.yaml", "path: /healthz", "path: /", "/healthz"},
		{"store off the volume", "app.yaml", `"-dir", "/mnt/efs/sessions"`, `"-dir", "/data/store"`, "not on a writable mount"},
		{"service selects nothing", "app.yaml", "  selector:\n    app.kubernetes.io/name: sessfs-app\n  ports:", "  selector:\n    app: sessfs\n  ports:", "selects no Deployment"},
		{"unlisted claim", "sessgc-cronjob.yaml", "claimName: sessfs-sessions", "claimName: sessions", `claim "sessions" is not defined`},
		{"no budget", "sessgc-cronjob.yaml", "- --max-duration=8m\n", "", "no --max-duration"},
		{"bad budget", "sessgc-cronjob.yaml", "--max-duration=8m", "--max-duration=8", "--max-duration"},
		{"deadline within the budget", "sessgc-cronjob.yaml", "--max-duration=8m", "--max-duration=10m", "activeDeadlineSeconds 600"},
		{"deadline within the grace after the budget", "sessgc-cronjob.yaml", "--max-duration=8m", "--max-duration=9m40s", "activeDeadlineSeconds 600"},
		{"deadline within the jitter and the budget", "sessgc-cronjob.yaml", "- --max-duration=8m\n", "- --max-duration=8m\n                - --jitter=2m\n", "activeDeadlineSeconds 600"},
		{"bad jitter", "sessgc-cronjob.yaml", "- --max-duration=8m\n", "- --max-duration=8m\n                - --jitter=2\n", "--jitter"},
		{"default termination grace", "sessgc-cronjob.yaml", "          terminationGracePeriodSeconds: 45\n", "", "terminationGracePeriodSeconds 30"},
		{"short termination grace", "sessgc-cronjob.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds 35"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyManifests(t)
			p := filepath.Join(dir, tt.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.old) {
				t.Fatalf("%s has no %q", tt.file, tt.old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), tt.old, tt.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			objs, err := Load(dir)
			if err == nil {
				err = Check(objs)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func copyManifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(manifests, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
