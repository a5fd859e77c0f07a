package ecdhpsi

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeSets returns a guest set of size ng and a host set of size nh sharing
// exactly common identifiers, and the guest indices of the shared ones.
func makeSets(rng *mrand.Rand, ng, nh, common int) (guest, host [][]byte, want []int) {
	id := func(prefix string) []byte { return fmt.Appendf(nil, "%s-%016x", prefix, rng.Uint64()) }
	for range common {
		x := id("shared")
		guest = append(guest, x)
		host = append(host, x)
	}
	for len(guest) < ng {
		guest = append(guest, id("guest"))
	}
	for len(host) < nh {
		host = append(host, id("host"))
	}
	rng.Shuffle(len(guest), func(i, j int) { guest[i], guest[j] = guest[j], guest[i] })
	rng.Shuffle(len(host), func(i, j int) { host[i], host[j] = host[j], host[i] })
	inHost := map[string]bool{}
	for _, h := range host {
		inHost[string(h)] = true
	}
	for i, g := range guest {
		if inHost[string(g)] {
			want = append(want, i)
		}
	}
	return guest, host, want
}

// run executes the protocol through the wire encodings.
func run(t testing.TB, guestIDs, hostIDs [][]byte) ([]int, int) {
	t.Helper()
	gu, err := NewGuest(guestIDs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHost(hostIDs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := gu.Request()
	if err != nil {
		t.Fatal(err)
	}
	reqB, _ := req.MarshalBinary()
	req2, err := ParseRequest(reqB)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Respond(req2)
	if err != nil {
		t.Fatal(err)
	}
	respB, _ := resp.MarshalBinary()
	resp2, err := ParseResponse(respB)
	if err != nil {
		t.Fatal(err)
	}
	members, reply, err := gu.Finish(resp2)
	if err != nil {
		t.Fatal(err)
	}
	replyB, _ := reply.MarshalBinary()
	reply2, err := ParseReply(replyB)
	if err != nil {
		t.Fatal(err)
	}
	n, err := h.Count(reply2)
	if err != nil {
		t.Fatal(err)
	}
	return members, n
}

func TestIntersection(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 7))
	for _, tc := range []struct{ ng, nh, common int }{
		{0, 0, 0}, {0, 5, 0}, {5, 0, 0}, {20, 30, 0}, {25, 25, 25}, {10, 40, 10}, {40, 10, 10},
		{1, 1, 1}, {1, 1, 0}, {200, 300, 57}, {500, 100, 99},
	} {
		t.Run(fmt.Sprintf("%d_%d_%d", tc.ng, tc.nh, tc.common), func(t *testing.T) {
			guest, host, want := makeSets(rng, tc.ng, tc.nh, tc.common)
			members, n := run(t, guest, host)
			if !slices.Equal(members, want) {
				t.Fatalf("guest learned %v, want %v", members, want)
			}
			if n != tc.common {
				t.Fatalf("host counted %d, want %d", n, tc.common)
			}
		})
	}
}

func TestDuplicateIdentifiers(t *testing.T) {
	ids := [][]byte{[]byte("a"), []byte("b"), []byte("a")}
	gu, _ := NewGuest(ids, Options{})
	if _, err := gu.Request(); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("guest: %v", err)
	}
	h, _ := NewHost(ids, Options{})
	g2, _ := NewGuest([][]byte{[]byte("x")}, Options{})
	req, _ := g2.Request()
	if _, err := h.Respond(req); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("host: %v", err)
	}
}

// TestHashPinned pins the hash of one identifier: if it changes (another
// DST, another suite), nodes of different versions would stop matching.
func TestHashPinned(t *testing.T) {
	e := HashToElement([]byte("91110000100000016D"))
	const want = "1eb14e130f841b16b11e1b4a8dc20e1314821c2e9e62e139a20e7ce6903ad84d"
	if got := hex.EncodeToString(e[:]); got != want {
		t.Fatalf("HashToElement = %s", got)
	}
	if HashToElement([]byte("91110000100000016D")) != e || HashToElement([]byte("91110000100000016E")) == e {
		t.Fatal("hash not deterministic or collides")
	}
	if _, err := Decode(e); err != nil {
		t.Fatal(err)
	}
}

func loadInvalid(t testing.TB) map[string][]Element {
	data, err := os.ReadFile(filepath.Join("testdata", "rfc9496_invalid.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Reason    string   `json:"reason"`
			Encodings []string `json:"encodings"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string][]Element{}
	for _, g := range file.Groups {
		for _, h := range g.Encodings {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != ElementSize {
				t.Fatal("bad vector")
			}
			out[g.Reason] = append(out[g.Reason], Element(b))
		}
	}
	return out
}

func TestMalformedElements(t *testing.T) {
	invalid := loadInvalid(t)
	if len(invalid) != 5 {
		t.Fatalf("%d groups", len(invalid))
	}
	valid := HashToElement([]byte("x"))
	for reason, encs := range invalid {
		for i, e := range encs {
			if _, err := Decode(e); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s %d: %v", reason, i, err)
			}
			// Inside a Request, a Response and a Reply.
			req := &Request{Blinded: []Element{valid, e}}
			b, _ := req.MarshalBinary()
			if _, err := ParseRequest(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s %d: request parsed: %v", reason, i, err)
			}
			h, _ := NewHost([][]byte{[]byte("h")}, Options{})
			if _, err := h.Respond(req); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s %d: host accepted: %v", reason, i, err)
			}
		}
	}
	var id Element // the identity encodes as 32 zero bytes
	if _, err := Decode(id); !errors.Is(err, ErrIdentity) {
		t.Fatalf("identity: %v", err)
	}
	b, _ := (&Reply{DoubleBlinded: []Element{id}}).MarshalBinary()
	if _, err := ParseReply(b); !errors.Is(err, ErrIdentity) {
		t.Fatalf("identity in reply: %v", err)
	}
	// Setting the top bit of a valid encoding makes it non-canonical.
	hi := valid
	hi[31] |= 0x80
	if _, err := Decode(hi); !errors.Is(err, ErrMalformed) {
		t.Fatal("high bit accepted")
	}
}

func TestMessageShapes(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	guest, host, _ := makeSets(rng, 8, 6, 3)
	a := HashToElement([]byte("a"))

	// Wire: truncated, extended, count too large, duplicate elements.
	req := &Request{Blinded: []Element{a, HashToElement([]byte("b"))}}
	rb, _ := req.MarshalBinary()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     rb[:len(rb)-1],
		"long":      append(slices.Clone(rb), 0),
		"count":     append([]byte{0, 0, 0, 3}, rb[4:]...),
		"huge":      append([]byte{0xff, 0xff, 0xff, 0xff}, rb[4:]...),
		"duplicate": append([]byte{0, 0, 0, 2}, append(a[:], a[:]...)...),
	} {
		if _, err := ParseRequest(b); err == nil {
			t.Errorf("request %s accepted", name)
		}
		if _, err := ParseReply(b); err == nil {
			t.Errorf("reply %s accepted", name)
		}
	}
	if _, err := ParseResponse([]byte{0, 0, 0, 1}); err == nil {
		t.Error("short response accepted")
	}
	if r, err := ParseRequest([]byte{0, 0, 0, 0}); err != nil || len(r.Blinded) != 0 {
		t.Error("empty request refused")
	}

	// Protocol: wrong vector lengths and order.
	gu, _ := NewGuest(guest, Options{})
	h, _ := NewHost(host, Options{})
	if _, _, err := gu.Finish(&Response{}); !errors.Is(err, ErrOrder) {
		t.Fatalf("finish before request: %v", err)
	}
	if _, err := h.Count(&Reply{}); !errors.Is(err, ErrOrder) {
		t.Fatalf("count before respond: %v", err)
	}
	r, _ := gu.Request()
	if _, err := gu.Request(); !errors.Is(err, ErrOrder) {
		t.Fatal("second request")
	}
	resp, err := h.Respond(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Respond(r); !errors.Is(err, ErrOrder) {
		t.Fatal("second respond")
	}
	short := &Response{DoubleBlinded: resp.DoubleBlinded[1:], HostBlinded: resp.HostBlinded}
	if _, _, err := gu.Finish(short); !errors.Is(err, ErrLength) {
		t.Fatalf("short response: %v", err)
	}
	dup := &Response{DoubleBlinded: slices.Clone(resp.DoubleBlinded), HostBlinded: resp.HostBlinded}
	dup.DoubleBlinded[1] = dup.DoubleBlinded[0]
	if _, _, err := gu.Finish(dup); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate response: %v", err)
	}
	_, reply, err := gu.Finish(resp)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gu.Finish(resp); !errors.Is(err, ErrOrder) {
		t.Fatal("second finish")
	}
	if _, err := h.Count(&Reply{DoubleBlinded: reply.DoubleBlinded[1:]}); !errors.Is(err, ErrLength) {
		t.Fatalf("short reply: %v", err)
	}
	// Repeating a matching element to inflate the count is refused.
	inflated := slices.Clone(reply.DoubleBlinded)
	for i := range inflated {
		inflated[i] = inflated[0]
	}
	if _, err := h.Count(&Reply{DoubleBlinded: inflated}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("inflated reply: %v", err)
	}
	if n, err := h.Count(reply); err != nil || n != 3 {
		t.Fatalf("count %d %v", n, err)
	}
}

// TestHostView checks what the host sees: the Request and the Reply hold no
// hash of any guest or shared identifier, blinded or not by the host's own
// key, no element the host sent, and the Reply's order is unrelated to the
// host's Response order. Its only output is an integer.
func TestHostView(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(11, 12))
	guestIDs, hostIDs, want := makeSets(rng, 64, 64, 32)
	gu, _ := NewGuest(guestIDs, Options{})
	h, _ := NewHost(hostIDs, Options{})
	req, _ := gu.Request()
	resp, _ := h.Respond(req)
	_, reply, _ := gu.Finish(resp)

	view := map[Element]bool{}
	for _, e := range append(slices.Clone(req.Blinded), reply.DoubleBlinded...) {
		view[e] = true
	}
	if len(view) != len(req.Blinded)+len(reply.DoubleBlinded) {
		t.Fatal("host view has repeated elements")
	}
	// Everything the host could compute from identifiers with its own key.
	for _, ids := range [][][]byte{guestIDs, hostIDs} {
		for _, id := range ids {
			hid := HashToElement(id)
			ah, _ := h.key.Blind([]Element{hid}, Options{})
			if view[hid] || view[ah[0]] {
				t.Fatalf("host view contains H(id) or a·H(id) for %q", id)
			}
		}
	}
	for _, e := range resp.HostBlinded {
		if view[e] {
			t.Fatal("host view echoes the host's own elements")
		}
	}
	// Position leakage: map each Reply element to the Response position it
	// came from (the test knows b); the guest's shuffle must have moved
	// them. 64! orders: the identity permutation means no shuffle.
	pos := map[Element]int{}
	bh, _ := gu.key.Blind(resp.HostBlinded, Options{})
	for i, e := range bh {
		pos[e] = i
	}
	fixed := 0
	for j, e := range reply.DoubleBlinded {
		if pos[e] == j {
			fixed++
		}
	}
	if fixed > 8 { // a random permutation has about 1 fixed point
		t.Fatalf("reply order follows the response order (%d fixed points)", fixed)
	}
	// The Request order is not the guest's record order either.
	own, _ := gu.key.BlindIdentifiers(guestIDs, Options{})
	fixed = 0
	for j, e := range req.Blinded {
		if own[j] == e {
			fixed++
		}
	}
	if fixed > 8 {
		t.Fatalf("request in record order (%d fixed points)", fixed)
	}
	n, err := h.Count(reply)
	if err != nil || n != len(want) {
		t.Fatalf("count %d, %v", n, err)
	}
}

func TestKeyStringHidesScalar(t *testing.T) {
	k := NewKey()
	b, _ := k.s.MarshalBinary()
	if s := fmt.Sprint(k) + fmt.Sprintf("%v %+v %s", k, k, k.LogValue()); strings.Contains(s, hex.EncodeToString(b)) {
		t.Fatal("key printed")
	}
}
