package joint

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/creditexchange/node/crypto/ecdhpsi"
	"github.com/creditexchange/node/crypto/paillier"
)

func TestBatchRange(t *testing.T) {
	for n := 1; n <= 300; n++ {
		for _, size := range []int{0, 1, 7, 50, 100, n - 1, n, n + 1} {
			nb := batches(n, size)
			next := 0
			for b := range nb {
				lo, hi := batchRange(n, size, b)
				if lo != next || hi <= lo {
					t.Fatalf("n=%d size=%d batch %d: [%d, %d) after %d", n, size, b, lo, hi, next)
				}
				if size > 0 && size < n && (hi-lo < size || hi-lo >= 2*size) {
					t.Fatalf("n=%d size=%d batch %d has %d members", n, size, b, hi-lo)
				}
				// Steps cycle through the batches.
				if l2, h2 := batchRange(n, size, b+nb); l2 != lo || h2 != hi {
					t.Fatalf("n=%d size=%d: step %d is not batch %d", n, size, b+nb, b)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d size=%d: batches cover [0, %d)", n, size, next)
			}
		}
	}
}

// TestFeatureBitsBound: the public bound holds for the worst standardised column (one outlier,
// everything else equal: |z| = √(n-1)) and for random ones, so the host's own bound never
// exceeds what the guest assumes for the slot width.
func TestFeatureBitsBound(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 1))
	fx := paillier.FixedPoint{FracBits: FeatureFracBits}
	for n := 2; n <= 5000; n += 1 + n/10 {
		cols := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
		cols[0][0] = 1e6
		for i := range n {
			cols[1][i] = math.Exp(rng.NormFloat64() * 3)
			cols[2][i] = float64(i % 2)
		}
		for _, col := range cols {
			s := &hostSession{mean: []float64{0}, std: []float64{0}}
			for _, x := range col {
				s.mean[0] += x
			}
			s.mean[0] /= float64(n)
			for _, x := range col {
				s.std[0] += (x - s.mean[0]) * (x - s.mean[0])
			}
			s.std[0] = math.Sqrt(s.std[0] / float64(n))
			for _, x := range col {
				v, err := fx.Encode(s.standard(x, 0))
				if err != nil {
					t.Fatal(err)
				}
				if v.BitLen() > featureBitsBound(n) {
					t.Fatalf("n=%d: a standardised feature of %d bits, bound %d", n, v.BitLen(), featureBitsBound(n))
				}
			}
		}
	}
	// The benchmark's shape: 30,000 members under a 2048-bit key pack 10 features in one ciphertext.
	if slot, per := packing(2048, 30000); per < 10 {
		t.Errorf("2048-bit key, 30000 members: %d slots of %d bits", per, slot)
	}
	if _, per := packing(128, 30000); per != 0 {
		t.Errorf("a 128-bit key cannot hold a slot, got %d", per)
	}
}

func TestUnpack(t *testing.T) {
	const slot = 100
	vals := []*big.Int{big.NewInt(0), new(big.Int).Lsh(big.NewInt(1), slot-1), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), slot), big.NewInt(1)), big.NewInt(12345)}
	m := new(big.Int)
	for t := len(vals) - 1; t >= 0; t-- {
		m.Lsh(m, slot).Add(m, vals[t])
	}
	got, ok := unpack(m, slot, len(vals))
	if !ok {
		t.Fatal("unpack refused a valid packing")
	}
	for i := range vals {
		if got[i].Cmp(vals[i]) != 0 {
			t.Fatalf("slot %d: %v, want %v", i, got[i], vals[i])
		}
	}
	if _, ok := unpack(big.NewInt(-1), slot, 4); ok {
		t.Error("negative packed value accepted")
	}
	if _, ok := unpack(new(big.Int).Lsh(big.NewInt(1), 4*slot), slot, 4); ok {
		t.Error("packed value wider than its slots accepted")
	}
	if _, ok := unpack(m, slot, 3); ok {
		t.Error("a fourth slot's worth of value accepted in three slots")
	}
}

// batchHost is a host with one aligned job "j" and the host-blinded elements of 150 guest
// members.
func batchHost(t *testing.T) (*Host, []ecdhpsi.Element) {
	t.Helper()
	syn := GenerateSME(SynthOptions{Members: 200, GuestFeatures: 2, HostFeatures: []int{3}, Seed: 9, Coverage: 1})
	h, err := NewHost(syn.Hosts[0], testHostOptions())
	if err != nil {
		t.Fatal(err)
	}
	k := ecdhpsi.NewKey()
	ids := make([][]byte, 150)
	for i := range ids {
		ids[i] = []byte(syn.Guest.IDs[i])
	}
	el, err := k.BlindIdentifiers(ids, ecdhpsi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := (&ecdhpsi.Request{Blinded: el}).MarshalBinary()
	ar, err := h.Handle(context.Background(), &AlignRequest{Job: "j", Request: req})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ecdhpsi.ParseResponse(ar.(*AlignResponse).Response)
	if err != nil {
		t.Fatal(err)
	}
	// The host's own elements of the guest's members: b·a·H(x) matched against a·b·H(y).
	mine, err := k.Blind(resp.HostBlinded, ecdhpsi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	double := map[ecdhpsi.Element]bool{}
	for _, e := range resp.DoubleBlinded {
		double[e] = true
	}
	var members []ecdhpsi.Element
	for i, e := range mine {
		if double[e] {
			members = append(members, resp.HostBlinded[i])
		}
	}
	return h, members
}

func concat(els []ecdhpsi.Element) []byte {
	var b []byte
	for _, e := range els {
		b = append(b, e[:]...)
	}
	return b
}

// TestHostBatchRules: the host applies the batches the cohort request announces: it refuses
// batches below its minimum cohort, an order that is not sorted within each batch, and
// per-member vectors that are not the step's batch; it accepts an order sorted batch by batch.
func TestHostBatchRules(t *testing.T) {
	ctx := context.Background()
	sk := testKey(t)
	pkb, _ := sk.Public().MarshalBinary()
	h, members := batchHost(t)
	n := len(members)
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b ecdhpsi.Element) int { return bytes.Compare(a[:], b[:]) })
	params := func(batch int) TrainParams { return TrainParams{MaxBins: 5, LearningRate: 0.5, BatchSize: batch} }
	const batch = 60 // testHostOptions().MinCohort is 50

	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: concat(sorted), Params: params(49)}); !errors.Is(err, ErrCohortTooSmall) {
		t.Errorf("batch below the host's minimum: %v", err)
	}
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: concat(sorted), Params: params(-1)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("negative batch size: %v", err)
	}
	// Batch by batch: the second batch's members first in the global order.
	grouped := slices.Concat(sorted[n/2:], sorted[:n/2])
	if batches(n, batch) != 2 {
		t.Fatalf("%d members make %d batches of %d", n, batches(n, batch), batch)
	}
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: concat(grouped), Params: params(0)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("full batch not in ascending order: %v", err)
	}
	unsorted := slices.Clone(sorted)
	unsorted[1], unsorted[2] = unsorted[2], unsorted[1]
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: concat(unsorted), Params: params(batch)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("first batch not sorted: %v", err)
	}
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: concat(grouped), Params: params(batch)}); err != nil {
		t.Fatalf("cohort sorted batch by batch: %v", err)
	}
	labels := make([][]byte, n)
	for i := range labels {
		ct, _ := sk.EncryptInt64(int64(i % 2))
		labels[i] = ct.Bytes()
	}
	if _, err := h.Handle(ctx, &BinRequest{Job: "j", Labels: labels}); err != nil {
		t.Fatal(err)
	}
	for it := range 3 {
		lo, hi := batchRange(n, batch, it)
		pr, err := h.Handle(ctx, &PartialRequest{Job: "j", Iter: it})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(pr.(*PartialResponse).Values); got != hi-lo {
			t.Fatalf("step %d: %d partial predictors for a batch of %d", it, got, hi-lo)
		}
		if _, err := h.Handle(ctx, &GradientRequest{Job: "j", Iter: it, Residuals: labels}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("step %d: the whole cohort's residuals for one batch: %v", it, err)
		}
		gm, err := h.Handle(ctx, &GradientRequest{Job: "j", Iter: it, Residuals: labels[lo:hi]})
		if err != nil {
			t.Fatal(err)
		}
		slotBits, perCT := packing(sk.Bits(), n)
		vals, err := unpackGradients(sk, gm.(*GradientMasked).Masked, 3, slotBits, perCT)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Handle(ctx, &UnmaskRequest{Job: "j", Iter: it, Values: vals}); err != nil {
			t.Fatalf("step %d: unmask: %v", it, err)
		}
	}
}

// TestHostGradientExact: what the guest unmasks is exactly Σ_i d_i·x_ij over the batch, in
// fixed point, for residuals of both signs, so the multi-exponentiation with shifted features,
// the packing and the masks cancel out.
func TestHostGradientExact(t *testing.T) {
	ctx := context.Background()
	sk := testKey(t)
	pkb, _ := sk.Public().MarshalBinary()
	h, members := batchHost(t)
	slices.SortFunc(members, func(a, b ecdhpsi.Element) int { return bytes.Compare(a[:], b[:]) })
	if _, err := h.Handle(ctx, &CohortRequest{Job: "j", PublicKey: pkb, Members: concat(members), Params: TrainParams{MaxBins: 5, LearningRate: 0.5}}); err != nil {
		t.Fatal(err)
	}
	n := len(members)
	rng := mrand.New(mrand.NewPCG(2, 2))
	labels := make([][]byte, n)
	residuals := make([][]byte, n)
	d := make([]*big.Int, n)
	fd := paillier.FixedPoint{FracBits: ResidualFracBits}
	for i := range n {
		ct, _ := sk.EncryptInt64(int64(i % 2))
		labels[i] = ct.Bytes()
		d[i], _ = fd.Encode(rng.Float64()*2 - 1)
		ct, _ = sk.Encrypt(d[i])
		residuals[i] = ct.Bytes()
	}
	if _, err := h.Handle(ctx, &BinRequest{Job: "j", Labels: labels}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, &PartialRequest{Job: "j"}); err != nil {
		t.Fatal(err)
	}
	gm, err := h.Handle(ctx, &GradientRequest{Job: "j", Residuals: residuals})
	if err != nil {
		t.Fatal(err)
	}
	s := h.sessions["j"]
	slotBits, perCT := packing(sk.Bits(), n)
	vals, err := unpackGradients(sk, gm.(*GradientMasked).Masked, len(s.weights), slotBits, perCT)
	if err != nil {
		t.Fatal(err)
	}
	fx := paillier.FixedPoint{FracBits: FeatureFracBits}
	for j, str := range vals {
		want := new(big.Int)
		for k, row := range s.cohort {
			x, _ := fx.Encode(s.standard(h.data.X[row][j], j))
			want.Add(want, new(big.Int).Mul(d[k], x))
		}
		got, _ := new(big.Int).SetString(str, 10)
		got.Sub(got, s.masks[j])
		if got.Cmp(want) != 0 {
			t.Fatalf("feature %d: unmasked %v, want %v", j, got, want)
		}
	}
}
