package httpsession

import "testing"

// A rare session with very many keys must not leave its members lists in
// the pool, riding with every buffer after it: they are bounded as the
// buffers' bytes are.
func TestPoolBoundsMembersLists(t *testing.T) {
	m := &Manager{}
	bp := &reqBuf{
		b:     make([]byte, 0, 64),
		m:     make([]member, 0, maxPooledMembers+1),
		spare: make([]member, 0, maxPooledMembers+1),
	}
	m.putBuf(bp)
	if cap(bp.m) != 0 || cap(bp.spare) != 0 {
		t.Errorf("pooled a buffer with members lists of capacity %d and %d, over the bound of %d", cap(bp.m), cap(bp.spare), maxPooledMembers)
	}
	small := &reqBuf{m: make([]member, 0, 8), spare: make([]member, 0, 8)}
	m.putBuf(small)
	if cap(small.m) != 8 || cap(small.spare) != 8 {
		t.Errorf("dropped members lists of capacity 8: %d and %d left", cap(small.m), cap(small.spare))
	}
}
