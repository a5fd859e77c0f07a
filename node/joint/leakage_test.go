package joint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"testing"

	"github.com/creditexchange/node/crypto/ecdhpsi"
	"github.com/creditexchange/node/crypto/paillier"
)

type smallFed struct {
	syn   *Synthetic
	host  *Host
	guest *Guest
	sk    *paillier.PrivateKey
	log   *wireLog
	links []HostLink
}

func newSmallFed(t *testing.T, members int) *smallFed {
	t.Helper()
	return newSmallFedBatches(t, members, 0)
}

// newSmallFedBatches is newSmallFed training in mini-batches of batch members (0: full batch).
func newSmallFedBatches(t *testing.T, members, batch int) *smallFed {
	t.Helper()
	syn := GenerateSME(SynthOptions{Members: members, GuestFeatures: 3, HostFeatures: []int{4}, Seed: 3})
	host, err := NewHost(syn.Hosts[0], testHostOptions())
	if err != nil {
		t.Fatal(err)
	}
	sk := testKey(t)
	guest, err := NewGuest(syn.Guest, GuestOptions{MinCohort: 50, Key: sk, Iterations: 4, SplitSeed: 2,
		Params: TrainParams{MaxBins: 5, LearningRate: 0.5, L2: 0.01, BatchSize: batch}})
	if err != nil {
		t.Fatal(err)
	}
	f := &smallFed{syn: syn, host: host, guest: guest, sk: sk, log: &wireLog{}}
	f.links = []HostLink{{Name: "tax", Conn: f.log.conn("tax", host)}}
	return f
}

// TestMessagesRevealNothingPerMember inspects every message of a training run and an inference,
// full-batch and in mini-batches: the host receives blinded elements, ciphertexts and
// per-feature masked aggregates only, never a label, an identifier or a per-member plaintext;
// the guest receives per-bin aggregates, partial predictors and masked gradients, never a host
// feature.
func TestMessagesRevealNothingPerMember(t *testing.T) {
	for _, batch := range []int{0, 60} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { testMessagesRevealNothingPerMember(t, batch) })
	}
}

func testMessagesRevealNothingPerMember(t *testing.T, batch int) {
	f := newSmallFedBatches(t, 300, batch)
	ctx := context.Background()
	res, err := f.guest.Train(ctx, "job-leak", f.links)
	if err != nil {
		t.Fatal(err)
	}
	pk := f.sk.Public()
	hostData, guestData := f.syn.Hosts[0], f.syn.Guest
	nf := len(hostData.Features)

	// Everything the host must never see in the clear.
	var secretsForHost [][]byte
	for _, id := range guestData.IDs {
		h := ecdhpsi.HashToElement([]byte(id))
		secretsForHost = append(secretsForHost, []byte(strconv.Quote(id)), h[:])
	}
	seenCT := map[string]bool{}
	hostFeatureValues := map[float64]bool{}
	for _, row := range hostData.X {
		for _, v := range row {
			hostFeatureValues[v] = true
		}
	}
	kinds := map[string]int{}
	sess := f.host.sessions["job-leak"]
	batchSizes := map[int]bool{} // the sizes every per-member vector of a step may have
	for b := range batches(res.Train, batch) {
		lo, hi := batchRange(res.Train, batch, b)
		batchSizes[hi-lo] = true
		if batch > 0 && hi-lo < batch {
			t.Errorf("batch of %d members, below %d", hi-lo, batch)
		}
	}
	for _, m := range f.log.msgs {
		kinds[m.kind]++
		msg, err := Unmarshal(m.wire)
		if err != nil {
			t.Fatal(err)
		}
		checkCT := func(cts [][]byte) {
			for _, b := range cts {
				if _, err := pk.ParseCiphertext(b); err != nil {
					t.Errorf("%s: not a ciphertext: %v", m.kind, err)
				}
				if seenCT[string(b)] {
					t.Errorf("%s: a ciphertext repeats (deterministic encryption would reveal equal plaintexts)", m.kind)
				}
				seenCT[string(b)] = true
			}
		}
		if m.dir == ToHost {
			for _, s := range secretsForHost {
				if bytes.Contains(m.wire, s) {
					t.Fatalf("%s to the host contains an identifier or its unblinded hash", m.kind)
				}
			}
			// No vector of plaintext numbers at all goes to a host.
			if hasNumberArray(t, m.wire) {
				t.Errorf("%s to the host carries a numeric vector", m.kind)
			}
			switch r := msg.(type) {
			case *AlignRequest, *PartialRequest:
			case *CohortRequest:
				if len(r.Members) != res.Train*ecdhpsi.ElementSize {
					t.Errorf("cohort: %d bytes for %d members", len(r.Members), res.Train)
				}
				// The order says which members share a batch, nothing else.
				if !ascendingWithinBatches(r.Members, res.Train, r.Params.BatchSize) {
					t.Error("cohort not sorted within its batches")
				}
			case *BinRequest:
				if len(r.Labels) != res.Train {
					t.Errorf("bin request: %d labels for %d members", len(r.Labels), res.Train)
				}
				checkCT(r.Labels)
			case *GradientRequest:
				checkCT(r.Residuals)
				if !batchSizes[len(r.Residuals)] {
					t.Errorf("gradient request with %d residuals, not a batch", len(r.Residuals))
				}
			case *UnmaskRequest:
				if len(r.Values) != nf { // one aggregate per host feature, not per member
					t.Errorf("unmask: %d values, want %d", len(r.Values), nf)
				}
			case *ScoreRequest:
				if r.Applicant != "" {
					t.Errorf("evaluation named an applicant")
				}
			default:
				t.Errorf("unexpected message to the host: %s", m.kind)
			}
			continue
		}
		switch r := msg.(type) {
		case *AlignResponse, *CohortResponse, *Ack:
		case *BinResponse:
			for _, bf := range r.Features {
				checkCT(bf.EventSums)
				for _, c := range bf.Counts {
					if c < testHostOptions().MinBin {
						t.Errorf("bin of %d members released", c)
					}
				}
			}
		case *PartialResponse, *ScoreResponse:
			var vals []float64
			if p, ok := r.(*PartialResponse); ok {
				vals = p.Values
				if !batchSizes[len(vals)] {
					t.Errorf("%d partial predictors, not a batch", len(vals))
				}
			} else {
				vals = r.(*ScoreResponse).Values
			}
			for _, v := range vals {
				if v != 0 && hostFeatureValues[v] {
					t.Errorf("%s carries a raw host feature", m.kind)
				}
			}
		case *GradientMasked:
			checkCT(r.Masked)
			// What the guest decrypts is masked: one packed slot per host feature, each far
			// above any true gradient (< 2^bound), with a mask sized by the public bound.
			slotBits, perCT := packing(pk.Bits(), len(sess.cohort))
			pub := gradientBits(len(sess.cohort), featureBitsBound(len(sess.cohort)))
			if want := (nf + perCT - 1) / perCT; len(r.Masked) != want {
				t.Errorf("%d packed ciphertexts for %d features, want %d", len(r.Masked), nf, want)
			}
			for c, b := range r.Masked {
				ct, _ := pk.ParseCiphertext(b)
				v, err := f.sk.Decrypt(ct)
				if err != nil {
					t.Fatal(err)
				}
				slots, ok := unpack(v, slotBits, min(perCT, nf-c*perCT))
				if !ok {
					t.Fatalf("packed value of %d bits does not unpack", v.BitLen())
				}
				for _, s := range slots {
					if s.BitLen() < pub+maskSecurityBits-30 || s.BitLen() > pub+maskSecurityBits+2 {
						t.Errorf("masked gradient has %d bits; the public bound is %d, the host's %d", s.BitLen(), pub, sess.bound)
					}
				}
			}
		default:
			t.Errorf("unexpected message to the guest: %s", m.kind)
		}
	}
	for _, k := range []string{KindAlignRequest, KindCohortRequest, KindBinRequest, KindGradientRequest, KindUnmaskRequest, KindGradientMasked} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the transcript", k)
		}
	}
	// The host's weights are used, but they never travel: the model holds only the guest's part.
	if len(res.Model.Weights) != len(guestData.Features) {
		t.Errorf("model has %d weights, want the guest's %d", len(res.Model.Weights), len(guestData.Features))
	}

	// (d) Inference: the host returns one partial score for the applicant, nothing else.
	before := len(f.log.msgs)
	applicant := res.trainRows[0]
	p, err := f.guest.ScoreApplicant(ctx, res.Model, f.links, guestData.IDs[applicant])
	if err != nil {
		t.Fatal(err)
	}
	if !(p > 0 && p < 1) {
		t.Errorf("probability %v", p)
	}
	resp, _ := Unmarshal(f.log.msgs[len(f.log.msgs)-1].wire)
	if sr, ok := resp.(*ScoreResponse); !ok || len(sr.Values) != 1 || len(f.log.msgs) != before+2 {
		t.Errorf("inference exchanged %d messages, last %T", len(f.log.msgs)-before, resp)
	}
}

// hasNumberArray reports whether a JSON document holds an array of two or more numbers.
func hasNumberArray(t *testing.T, wire []byte) bool {
	var v any
	dec := json.NewDecoder(bytes.NewReader(wire))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case []any:
			nums := 0
			for _, e := range x {
				if _, ok := e.(json.Number); ok {
					nums++
				}
				if walk(e) {
					return true
				}
			}
			return nums >= 2
		case map[string]any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// TestHostMapsCohortToItsRows: the common order is the host-blinded elements sorted, and the
// host maps them to exactly the members both parties hold.
func TestHostMapsCohortToItsRows(t *testing.T) {
	f := newSmallFed(t, 200)
	if _, err := f.guest.Train(context.Background(), "job-map", f.links); err != nil {
		t.Fatal(err)
	}
	sess := f.host.sessions["job-map"]
	guestIDs := map[string]bool{}
	for _, id := range f.syn.Guest.IDs {
		guestIDs[id] = true
	}
	for _, row := range sess.cohort {
		if !guestIDs[f.syn.Hosts[0].IDs[row]] {
			t.Fatalf("host row %d is not a guest member", row)
		}
	}
	if len(sess.cohort) == 0 {
		t.Fatal("empty cohort")
	}
}

func TestCohortBelowMinimumAborts(t *testing.T) {
	syn := GenerateSME(SynthOptions{Members: 150, GuestFeatures: 2, HostFeatures: []int{2}, Seed: 5, Coverage: 0.5})
	host, _ := NewHost(syn.Hosts[0], testHostOptions())
	log := &wireLog{}
	g, _ := NewGuest(syn.Guest, GuestOptions{MinCohort: 60, Key: testKey(t), Iterations: 2})
	_, err := g.Train(context.Background(), "job-small", []HostLink{{Name: "h", Conn: log.conn("h", host)}})
	if !errors.Is(err, ErrCohortTooSmall) {
		t.Fatalf("err = %v, want ErrCohortTooSmall", err)
	}
	for _, m := range log.msgs {
		if m.kind != KindAlignRequest && m.kind != KindAlignResponse {
			t.Errorf("%s sent after the cohort was found too small", m.kind)
		}
	}
}

// TestHostRejectsHostileMessages (attacks 32–33): malformed ciphertexts, points not on the curve,
// vectors of the wrong length, unknown members, steps out of order and cohorts below the minimum.
func TestHostRejectsHostileMessages(t *testing.T) {
	ctx := context.Background()
	opts := testHostOptions()
	syn := GenerateSME(SynthOptions{Members: 200, GuestFeatures: 2, HostFeatures: []int{3}, Seed: 9})
	newHost := func() *Host {
		h, err := NewHost(syn.Hosts[0], opts)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	blinded := func(n int) []byte {
		k := ecdhpsi.NewKey()
		ids := make([][]byte, n)
		for i := range ids {
			ids[i] = []byte(syn.Guest.IDs[i])
		}
		el, err := k.BlindIdentifiers(ids, ecdhpsi.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := (&ecdhpsi.Request{Blinded: el}).MarshalBinary()
		return b
	}
	// Alignment.
	h := newHost()
	if _, err := h.Handle(ctx, &AlignRequest{Job: "a", Request: blinded(opts.MinCohort - 1)}); !errors.Is(err, ErrCohortTooSmall) {
		t.Errorf("small alignment: %v", err)
	}
	bad := blinded(opts.MinCohort)
	for i := 8; i < 8+32; i++ { // the first element becomes 0xff…: not a canonical encoding
		bad[len(bad)-opts.MinCohort*32+i-8] = 0xff
	}
	if _, err := h.Handle(ctx, &AlignRequest{Job: "a", Request: bad}); !errors.Is(err, ErrMalformed) {
		t.Errorf("point not on the curve: %v", err)
	}
	if _, err := h.Handle(ctx, &AlignRequest{Job: "a", Request: blinded(opts.MinCohort)[:100]}); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated request: %v", err)
	}
	if _, err := h.Handle(ctx, &BinRequest{Job: "nope"}); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("unknown job: %v", err)
	}

	// After a real alignment.
	ar, err := h.Handle(ctx, &AlignRequest{Job: "j", Request: blinded(150)})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := ecdhpsi.ParseResponse(ar.(*AlignResponse).Response)
	if _, err := h.Handle(ctx, &BinRequest{Job: "j"}); !errors.Is(err, ErrOrder) {
		t.Errorf("labels before cohort: %v", err)
	}
	sk := testKey(t)
	pkb, _ := sk.Public().MarshalBinary()
	sorted := func(els []ecdhpsi.Element) []byte {
		cp := append([]ecdhpsi.Element(nil), els...)
		for i := range cp { // insertion sort, small
			for j := i; j > 0 && bytes.Compare(cp[j][:], cp[j-1][:]) < 0; j-- {
				cp[j], cp[j-1] = cp[j-1], cp[j]
			}
		}
		var b []byte
		for _, e := range cp {
			b = append(b, e[:]...)
		}
		return b
	}
	params := TrainParams{MaxBins: 5, LearningRate: 0.5}
	members := resp.HostBlinded[:80]
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: sorted(members[:opts.MinCohort-1]), Params: params}); !errors.Is(err, ErrCohortTooSmall) {
		t.Errorf("small cohort: %v", err)
	}
	stranger := append(append([]ecdhpsi.Element(nil), members[:opts.MinCohort]...), ecdhpsi.HashToElement([]byte("someone")))
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: sorted(stranger), Params: params}); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("unknown member: %v", err)
	}
	dup := append(append([]ecdhpsi.Element(nil), members[:opts.MinCohort]...), members[0])
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: sorted(dup), Params: params}); !errors.Is(err, ErrMalformed) {
		t.Errorf("duplicate member: %v", err)
	}
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: []byte{1, 2, 3}, Members: sorted(members), Params: params}); !errors.Is(err, ErrKey) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: sorted(members), Params: params}); err != nil {
		t.Fatal(err)
	}
	pk := sk.Public()
	labels := make([][]byte, len(members))
	for i := range labels {
		ct, _ := pk.EncryptInt64(int64(i % 2))
		labels[i] = ct.Bytes()
	}
	tamper := func(mod func([][]byte) [][]byte) [][]byte {
		return mod(append([][]byte(nil), labels...))
	}
	zero := make([]byte, pk.CiphertextSize())
	huge := bytes.Repeat([]byte{0xff}, pk.CiphertextSize())
	other := testKey(t)
	foreign, _ := other.Public().EncryptInt64(1)
	for name, cts := range map[string][][]byte{
		"short vector":       labels[:len(labels)-1],
		"long vector":        append(append([][]byte(nil), labels...), labels[0]),
		"zero ciphertext":    tamper(func(c [][]byte) [][]byte { c[3] = zero; return c }),
		"ciphertext ≥ n²":    tamper(func(c [][]byte) [][]byte { c[3] = huge; return c }),
		"truncated":          tamper(func(c [][]byte) [][]byte { c[3] = c[3][1:]; return c }),
		"multiple of p or q": tamper(func(c [][]byte) [][]byte { c[3] = pk.N().FillBytes(make([]byte, pk.CiphertextSize())); return c }),
		"other key (longer)": tamper(func(c [][]byte) [][]byte { c[3] = append(foreign.Bytes(), 0); return c }),
	} {
		if _, err := h.Handle(ctx, &BinRequest{Job: "j", Labels: cts}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := h.Handle(ctx, &GradientRequest{Job: "j", Iter: 0, Residuals: labels}); !errors.Is(err, ErrOrder) {
		t.Errorf("gradient before partials: %v", err)
	}
	if _, err := h.Handle(ctx, &PartialRequest{Job: "j", Iter: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, &GradientRequest{Job: "j", Iter: 0, Residuals: labels[:10]}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short residuals: %v", err)
	}
	if _, err := h.Handle(ctx, &GradientRequest{Job: "j", Iter: 0, Residuals: labels}); err != nil {
		t.Fatal(err)
	}
	for name, vals := range map[string][]string{
		"wrong length":          {"1"},
		"not integer":           {"x", "1", "2"},
		"unmasked out of range": {new(big.Int).Lsh(big.NewInt(1), 1000).String(), "0", "0"},
	} {
		if _, err := h.Handle(ctx, &UnmaskRequest{Job: "j", Iter: 0, Values: vals}); !errors.Is(err, ErrMalformed) {
			t.Errorf("unmask %s: %v", name, err)
		}
	}
}

// hostile wraps a host and corrupts its responses.
type hostile struct {
	h   Handler
	mod func(Message)
}

func (x hostile) Handle(ctx context.Context, req Message) (Message, error) {
	m, err := x.h.Handle(ctx, req)
	if err == nil {
		x.mod(m)
	}
	return m, err
}

// TestGuestRejectsHostileHost: a host answering with vectors of the wrong length, non-finite
// partials or forged bins is refused.
func TestGuestRejectsHostileHost(t *testing.T) {
	for name, mod := range map[string]func(Message){
		"partials short": func(m Message) {
			if p, ok := m.(*PartialResponse); ok {
				p.Values = p.Values[1:]
			}
		},
		"bin counts forged": func(m Message) {
			if b, ok := m.(*BinResponse); ok {
				b.Features[0].Counts[0]++
			}
		},
		"masked gradient missing": func(m Message) {
			if g, ok := m.(*GradientMasked); ok {
				g.Masked = g.Masked[1:]
			}
		},
		"psi response truncated": func(m Message) {
			if a, ok := m.(*AlignResponse); ok {
				a.Response = a.Response[:len(a.Response)-32]
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newSmallFed(t, 200)
			f.links[0].Conn = &LocalConn{Host: hostile{f.host, mod}}
			if _, err := f.guest.Train(context.Background(), "job-h", f.links); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
