package validate

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// forbiddenMountOptions break sessfs on NFS (docs/operator-guide.md): soft
// turns a blip into a half-written session, and the attribute-cache
// switches cost a round trip on every access.
var forbiddenMountOptions = []string{"soft", "noac", "actimeo=0", "lookupcache=none", "local_lock=all", "local_lock=flock"}

// Check checks the set of objects as a whole: what the API server would
// refuse, and what sessfs needs on EKS with the EFS CSI driver.
func Check(objs []Object) error {
	var errs []error
	fail := func(o Object, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s/%s: %s", o.File, o.Kind, o.Name, fmt.Sprintf(format, args...)))
	}
	classes := map[string]*storagev1.StorageClass{}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	var templates []map[string]string
	seen := map[string]bool{}
	for _, o := range objs {
		if key := o.Kind + "/" + o.Name; seen[key] {
			fail(o, "defined twice")
		} else {
			seen[key] = true
		}
		switch v := o.Value.(type) {
		case *storagev1.StorageClass:
			classes[v.Name] = v
		case *corev1.PersistentVolumeClaim:
			claims[v.Name] = v
		case *appsv1.Deployment:
			templates = append(templates, v.Spec.Template.Labels)
		}
	}
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *storagev1.StorageClass:
			if err := checkStorageClass(v); err != nil {
				fail(o, "%v", err)
			}
		case *corev1.PersistentVolumeClaim:
			if !slices.Equal(v.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}) {
				fail(o, "access modes %v: every pod mounts the store, ReadWriteMany", v.Spec.AccessModes)
			}
			if v.Spec.StorageClassName == nil || classes[*v.Spec.StorageClassName] == nil {
				fail(o, "storage class is not the EFS class defined here")
			}
			if q, ok := v.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
				fail(o, "no storage request (the API requires one, EFS ignores it)")
			}
		case *appsv1.Deployment:
			if err := CheckPodTemplate(v.Spec.Selector, &v.Spec.Template); err != nil {
				fail(o, "%v", err)
			}
			if err := checkPod(&v.Spec.Template.Spec, claims); err != nil {
				fail(o, "%v", err)
			}
			if v.Name == "sessfs-app" {
				if err := checkApp(&v.Spec.Template.Spec); err != nil {
					fail(o, "%v", err)
				}
			}
		case *batchv1.CronJob:
			if err := checkCronJob(v, claims); err != nil {
				fail(o, "%v", err)
			}
		case *corev1.Service:
			sel := labels.SelectorFromSet(v.Spec.Selector)
			if len(v.Spec.Selector) == 0 || !slices.ContainsFunc(templates, func(l map[string]string) bool { return sel.Matches(labels.Set(l)) }) {
				fail(o, "selector %v selects no Deployment's pods", v.Spec.Selector)
			}
		}
	}
	return errors.Join(errs...)
}

func checkStorageClass(sc *storagev1.StorageClass) error {
	var errs []error
	if sc.Provisioner != "efs.csi.aws.com" {
		errs = append(errs, fmt.Errorf("provisioner %q, want efs.csi.aws.com", sc.Provisioner))
	}
	p := sc.Parameters
	if p["provisioningMode"] != "efs-ap" {
		errs = append(errs, fmt.Errorf("provisioningMode %q, want efs-ap (an access point per volume)", p["provisioningMode"]))
	}
	// A fixed uid and gid on the access point: every pod's NFS calls run as
	// them, so the store's 0600 files are readable by every pod.
	for _, k := range []string{"uid", "gid", "directoryPerms", "fileSystemId"} {
		if p[k] == "" {
			errs = append(errs, fmt.Errorf("parameter %s missing", k))
		}
	}
	if p["uid"] == "0" || p["gid"] == "0" {
		errs = append(errs, errors.New("access point uid/gid 0: sessions would be root's files"))
	}
	for _, opt := range sc.MountOptions {
		if slices.Contains(forbiddenMountOptions, opt) {
			errs = append(errs, fmt.Errorf("mount option %s breaks sessfs on NFS", opt))
		}
	}
	for _, want := range []string{"hard", "noresvport"} {
		if !slices.Contains(sc.MountOptions, want) {
			errs = append(errs, fmt.Errorf("mount option %s missing", want))
		}
	}
	return errors.Join(errs...)
}

// checkPod: non-root, read-only root file system, and the shared claim.
func checkPod(spec *corev1.PodSpec, claims map[string]*corev1.PersistentVolumeClaim) error {
	var errs []error
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		errs = append(errs, errors.New("the pod must run as a numeric non-root user (runAsNonRoot, runAsUser)"))
	}
	for _, c := range spec.Containers {
		csc := c.SecurityContext
		if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
			csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			errs = append(errs, fmt.Errorf("container %s: want readOnlyRootFilesystem and no privilege escalation", c.Name))
		}
	}
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim != nil && claims[v.PersistentVolumeClaim.ClaimName] == nil {
			errs = append(errs, fmt.Errorf("volume %s: claim %q is not defined here", v.Name, v.PersistentVolumeClaim.ClaimName))
		}
	}
	return errors.Join(errs...)
}

// mountedDir reports whether the container mounts a volume at a prefix of
// path.
func mountedDir(c corev1.Container, path string) bool {
	return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return !m.ReadOnly && strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
	})
}

// within reports whether the container path p is dir or inside it.
// Container paths are slash-separated whatever the host.
func within(p, dir string) bool {
	p, dir = path.Clean(p), path.Clean(dir)
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func checkApp(spec *corev1.PodSpec) error {
	var errs []error
	for _, c := range spec.Containers {
		if dir := flagValue(c.Args, "-dir"); dir == "" || !mountedDir(c, dir) {
			errs = append(errs, fmt.Errorf("container %s: -dir %q is not on a writable mount", c.Name, dir))
		}
		p := c.ReadinessProbe
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
			errs = append(errs, fmt.Errorf("container %s: no readiness probe on /healthz (httpsession.HealthHandler)", c.Name))
		}
	}
	return errors.Join(errs...)
}

func checkCronJob(cj *batchv1.CronJob, claims map[string]*corev1.PersistentVolumeClaim) error {
	var errs []error
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		errs = append(errs, fmt.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy))
	}
	if f := strings.Fields(cj.Spec.Schedule); len(f) != 5 && !strings.HasPrefix(cj.Spec.Schedule, "@") {
		errs = append(errs, fmt.Errorf("schedule %q is not a 5-field cron expression", cj.Spec.Schedule))
	}
	tpl := &cj.Spec.JobTemplate.Spec.Template
	if err := CheckPodTemplate(nil, tpl); err != nil {
		errs = append(errs, err)
	}
	if rp := tpl.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		errs = append(errs, fmt.Errorf("restartPolicy %q: a Job's pods need Never or OnFailure", rp))
	}
	if err := checkPod(&tpl.Spec, claims); err != nil {
		errs = append(errs, err)
	}
	for _, c := range tpl.Spec.Containers {
		if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--no-fleet-lock") }) {
			errs = append(errs, fmt.Errorf("container %s: --no-fleet-lock: keep the fleet lock on", c.Name))
		}
		if len(c.Args) == 0 || c.Args[0] != "run" {
			errs = append(errs, fmt.Errorf("container %s: args %v do not start with the run command", c.Name, c.Args))
		}
		dir := flagValue(c.Args, "--dir")
		if dir == "" || !mountedDir(c, dir) {
			errs = append(errs, fmt.Errorf("container %s: --dir %q is not on a writable mount", c.Name, dir))
		}
		tf := flagValue(c.Args, "--textfile")
		if tf == "" || !mountedDir(c, tf) {
			errs = append(errs, fmt.Errorf("container %s: --textfile %q is not on a writable mount: its metrics would be lost", c.Name, tf))
		}
		if err := checkBudget(c, cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds); err != nil {
			errs = append(errs, err)
		}
		if err := checkTermination(c, tpl.Spec.TerminationGracePeriodSeconds); err != nil {
			errs = append(errs, err)
		}
		if dir != "" && tf != "" && within(tf, dir) {
			// sessgc refuses it (exit 2): in the store directory before the
			// store exists, the file would make every later run refuse the
			// directory as not a store.
			errs = append(errs, fmt.Errorf("container %s: --textfile %q is inside --dir %q: put it beside the store", c.Name, tf, dir))
		}
	}
	return errors.Join(errs...)
}

// textfileWait bounds sessgc's write of --textfile after a pass the file
// server stopped answering (pass.FSCheckTimeout): in the CronJob the
// textfile is on the same EFS volume as the store.
const textfileWait = 5 * time.Second

// stopGrace is sessgc's pass.StopGrace: how long after --max-duration a
// pass stuck in a call to the file server is abandoned (exit 4).
func stopGrace(maxDuration time.Duration) time.Duration {
	return min(30*time.Second, max(time.Second, maxDuration/10))
}

// defaultTerminationGrace is Kubernetes' terminationGracePeriodSeconds
// when a pod sets none.
const defaultTerminationGrace = 30 * time.Second

// checkTermination: a pod told to stop (a node drained, the pod evicted or
// preempted) gets SIGTERM, and SIGKILL once its termination grace is over.
// On SIGTERM sessgc stops its pass cleanly, which on a hung mount takes up
// to its stop grace, and then writes --textfile (up to textfileWait there).
// A shorter termination grace kills it in the middle of that: records left
// aside for the next run and no textfile, which the default 30 s is with
// the 30 s stop grace of any --max-duration of 5 minutes or more.
func checkTermination(c corev1.Container, seconds *int64) error {
	d, err := time.ParseDuration(maxDuration(c))
	if err != nil || d <= 0 {
		return nil // checkBudget reports it
	}
	grace := defaultTerminationGrace
	if seconds != nil {
		grace = time.Duration(*seconds) * time.Second
	}
	if need := stopGrace(d) + textfileWait; grace <= need {
		return fmt.Errorf("container %s: terminationGracePeriodSeconds %d kills sessgc before it can stop on SIGTERM (%s: %s to give up on a hung mount with --max-duration %s, %s to write --textfile there): set it above %d",
			c.Name, int64(grace/time.Second), need, stopGrace(d), d, textfileWait, int64(need/time.Second))
	}
	return nil
}

// sessgcFlag is the value of the container's sessgc flag name (such as
// "max-duration"), given as a flag or in its environment variable
// (SESSGC_MAX_DURATION; flags win, as in sessgc); "" if neither.
func sessgcFlag(c corev1.Container, name string) string {
	if v := flagValue(c.Args, "--"+name); v != "" {
		return v
	}
	env := "SESSGC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	v := ""
	for _, e := range c.Env {
		if e.Name == env {
			v = e.Value
		}
	}
	return v
}

// maxDuration is the container's --max-duration; "" if none.
func maxDuration(c corev1.Container) string { return sessgcFlag(c, "max-duration") }

// checkBudget: the sweep has a --max-duration (flag or SESSGC_MAX_DURATION),
// and the Job's deadline, if any, comes after the longest a run lasts with
// it: the budget, the grace to stop on a hung mount, and the textfile's
// write. A deadline within that kills sweeps midway, which leaves records
// moved aside for the next run (SessgcRestoredSessions) and no textfile;
// without a budget a run on a hung mount waits for the mount until the
// deadline.
func checkBudget(c corev1.Container, activeDeadlineSeconds *int64) error {
	v := maxDuration(c)
	if v == "" {
		return fmt.Errorf("container %s: no --max-duration: on a hung mount a run would wait as long as the mount does", c.Name)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("container %s: --max-duration %q: want a positive duration, such as 8m", c.Name, v)
	}
	if activeDeadlineSeconds == nil {
		return nil
	}
	// --jitter's sleep comes before the budget starts to count.
	var jitter time.Duration
	if v := sessgcFlag(c, "jitter"); v != "" {
		if jitter, err = time.ParseDuration(v); err != nil || jitter < 0 {
			return fmt.Errorf("container %s: --jitter %q: want 0 or a positive duration, such as 1m", c.Name, v)
		}
	}
	if longest := jitter + d + stopGrace(d) + textfileWait; time.Duration(*activeDeadlineSeconds)*time.Second <= longest {
		return fmt.Errorf("container %s: activeDeadlineSeconds %d ends the Job before a run with --jitter %s and --max-duration %s is sure to have ended (%s: the jitter's sleep, the budget, %s to give up on a hung mount, %s to write --textfile there): Kubernetes would kill sweeps midway",
			c.Name, *activeDeadlineSeconds, jitter, d, longest, stopGrace(d), textfileWait)
	}
	return nil
}
