// Package nfstest runs parts of a Go test on several real NFS client hosts
// that share one kernel NFSv4.1 export, for tests of code that must be
// correct on shared NFS/EFS directories.
//
// The hosts live in a User-Mode-Linux guest booted by scripts/nfs-harness.sh:
// one kernel nfsd and one network namespace per client host (hostA, hostB,
// ...), each with its own nodename, so its own NFSv4 client identity, lease
// and caches, and its own mount of the export. See docs/testing.md.
//
// A test calls [Run] with one function per host:
//
//	func TestRenameSeen(t *testing.T) {
//		nfstest.Run(t, nfstest.Config{Delay: "1ms"}, map[string]func(*testing.T){
//			"hostA": func(t *testing.T) { /* write in nfstest.Dir(t) */ },
//			"hostB": func(t *testing.T) { /* wait for it and read it */ },
//		})
//	}
//
// On the developer's machine (the "parent"), Run boots the guest and runs
// the current test binary (os.Executable, which the guest sees through
// hostfs) on every host with -test.run selecting this test. In the guest the
// same test calls Run again, which now sees NFS_HOST set (see [InGuest]) and
// calls the function for its own host. A host's failure (t.Fatal, t.Error,
// a panic) becomes a nonzero exit code; Run then fails the parent test and
// echoes that host's output into the parent's log. With go test -v, the
// output of every host is logged.
//
// Roles coordinate through files on the export itself, which every host
// sees: [Dir], [Signal], [WaitFile], [Barrier]. [CutLink] takes a host off
// the network (for lease-loss tests; the lease is 10 s). [RPCStats] and
// [Diff] count the NFS operations a piece of code sends; a [Meter] counts
// those of an operation repeated, for the RPC budgets, each repetition with
// the FREE_STATEIDs the client sends for its unlocks after they returned.
//
// # Cost
//
// Each Run boots a guest: about 13 s of overhead on our 2-core machines,
// on top of the roles' own run time, off the machine-wide lock when the
// guest boots while another runs. To amortize it, put several scenarios
// in one Run (the role functions may call t.Run, and [Barrier] keeps the
// hosts in step), or run a whole test binary under the harness in one boot:
//
//	go test -c -o /tmp/x.test ./fsstore
//	scripts/nfs-harness.sh -- /tmp/x.test -test.v -test.run NFS
//
// In that mode every Run call in the binary runs its role directly, and
// skips when its Config (hosts, delay, delegations) does not match the
// harness's.
//
// A package whose NFS tests come after minutes of other tests boots their
// guests from TestMain with [Start], beside those tests, rather than
// after them. The guest runs only the subtests that the parent's -run
// selects below the test that boots it.
//
// # One guest at a time
//
// Run holds a machine-wide flock (/tmp/sessfs-uml.lock, or $SESSFS_UML_LOCK)
// while its guest runs, so that the packages that go test ./... runs at
// once take turns; see [EnvLock]. One run at a time boots its guest and
// mounts its hosts while it waits for the lock, and gives the go once it
// has it. When a role fails, Run logs the run's timeline, each host's
// mountstats and the guest's kernel log.
//
// # Availability
//
// Without root or the Debian packages user-mode-linux, nfs-kernel-server,
// kmod and iproute2, Run and [Require] skip the test, unless the
// environment has SESSFS_REQUIRE_NFS=1 (as CI does), in which case they
// fail it, so that a CI run never silently skips the NFS suite.
package nfstest
