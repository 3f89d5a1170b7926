package lock_test

import (
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestHandleGenIsTheHandles: HandleGen, which the table's tests compare
// with FakeOS.Holder to tell which OS lock a handle got (handed over, or
// taken afresh after a lost one), reports the OS lock the handle holds,
// the one its Verify and Unlock use, not the one its lock file has now.
// It read the file's: a handle left with another lock than its file's,
// the fault those tests look for, showed the file's and passed; and a
// handle released, whose file the next holder took, reported that
// holder's lock.
func TestHandleGenIsTheHandles(t *testing.T) {
	fake := &lock.FakeOS{}
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: t.TempDir()}, fake)
	t.Cleanup(func() { tab.Close() })
	a, err := tab.TryLock("s1", "a", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	aGen := lock.HandleGen(a)
	if aGen != fake.Holder("s1") {
		t.Fatalf("HandleGen of the holder = %d, the OS has %d", aGen, fake.Holder("s1"))
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	b, err := tab.TryLock("s1", "b", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlock()
	if bGen := fake.Holder("s1"); bGen == aGen {
		t.Fatalf("the next holder got OS lock %d, the released one's", bGen)
	}
	if got := lock.HandleGen(a); got != aGen {
		t.Errorf("HandleGen of the released handle = %d, want its own OS lock %d (the next holder's is %d)", got, aGen, fake.Holder("s1"))
	}
}
