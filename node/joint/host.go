package joint

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sync"

	"github.com/creditexchange/node/crypto/ecdhpsi"
	"github.com/creditexchange/node/crypto/paillier"
)

// Defaults a host applies when its options leave them zero.
const (
	DefaultMinCohort     = 100
	DefaultMinBin        = 20
	DefaultMaxIterations = 200
	// ResidualFracBits and FeatureFracBits are the fixed-point scales of encrypted residuals and
	// of the host features they are multiplied by; gradients decrypt at their sum.
	ResidualFracBits = 32
	FeatureFracBits  = 20
	// maskSecurityBits is the statistical distance exponent of the gradient masks: a mask is
	// uniform on [0, 2^(B+maskSecurityBits)) for gradients bounded by 2^B in absolute value.
	maskSecurityBits = 80
	maxBins          = 64
)

// HostOptions are a host's own limits; the guest cannot change them.
type HostOptions struct {
	MinCohort     int              // smallest intersection and cohort served (default DefaultMinCohort)
	MinBin        int              // smallest bin released (default DefaultMinBin)
	MaxIterations int              // most gradient steps served per job (default DefaultMaxIterations)
	KeyOptions    paillier.Options // rules for the guest's Paillier key (AllowInsecureSize only in tests)
	PSI           ecdhpsi.Options
}

func (o HostOptions) withDefaults() HostOptions {
	if o.MinCohort <= 0 {
		o.MinCohort = DefaultMinCohort
	}
	if o.MinBin <= 0 {
		o.MinBin = DefaultMinBin
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	return o
}

// Host is a feature holder. It answers the guest's messages for any number of jobs, keeping
// per-job state in memory. A Host is safe for concurrent use.
type Host struct {
	data *Dataset
	opts HostOptions

	mu       sync.Mutex
	sessions map[string]*hostSession
}

type hostStage int

const (
	stageAligned hostStage = iota + 1
	stageCohort
	stagePartial  // partial predictors sent for iter
	stageGradient // masked gradient sent for iter
)

type hostSession struct {
	mu     sync.Mutex
	stage  hostStage
	key    *ecdhpsi.Key
	rows   map[ecdhpsi.Element]int // host-blinded element → row
	cohort []int                   // rows, in cohort order
	pk     *paillier.PublicKey
	params TrainParams
	mean   []float64
	std    []float64
	// enc[j][k]: standardised feature j of the k-th cohort member at FeatureFracBits, minus
	// shift[j], the feature's minimum: non-negative, short exponents for the gradient's
	// multi-exponentiation, which adds shift[j]·Σ_k E(d_k) back.
	enc     [][]*big.Int
	shift   []*big.Int
	weights []float64
	iter    int
	masks   []*big.Int // per feature, what was added to the gradient: 2^B + a uniform r_j (see gradient)
	bound   int        // bit bound of |gradient|, from this host's data: unmasked results beyond it are refused
}

var _ Handler = (*Host)(nil)

// NewHost returns a host serving data.
func NewHost(data *Dataset, opts HostOptions) (*Host, error) {
	if err := data.Validate(); err != nil {
		return nil, err
	}
	return &Host{data: data, opts: opts.withDefaults(), sessions: map[string]*hostSession{}}, nil
}

// Features returns the host's feature names.
func (h *Host) Features() []string { return append([]string(nil), h.data.Features...) }

// Handle implements Handler: it answers one guest message.
func (h *Host) Handle(ctx context.Context, req Message) (Message, error) {
	if r, ok := req.(*AlignRequest); ok {
		return h.align(r)
	}
	var job string
	switch r := req.(type) {
	case *CohortRequest:
		job = r.Job
	case *BinRequest:
		job = r.Job
	case *PartialRequest:
		job = r.Job
	case *GradientRequest:
		job = r.Job
	case *UnmaskRequest:
		job = r.Job
	case *ScoreRequest:
		job = r.Job
	default:
		return nil, fmt.Errorf("%w: a host does not accept %s", ErrMalformed, req.Kind())
	}
	s, err := h.lockSession(job)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	switch r := req.(type) {
	case *CohortRequest:
		return h.cohort(s, r)
	case *BinRequest:
		return h.bin(s, r)
	case *PartialRequest:
		return h.partial(s, r)
	case *GradientRequest:
		return h.gradient(s, r)
	case *UnmaskRequest:
		return h.unmask(s, r)
	default:
		return h.score(s, req.(*ScoreRequest))
	}
}

// Forget drops a job's state (after completion or cancellation); its trained weights go with it
// unless exported first with Model.
func (h *Host) Forget(job string) {
	h.mu.Lock()
	delete(h.sessions, job)
	h.mu.Unlock()
}

func (h *Host) align(r *AlignRequest) (Message, error) {
	if r.Job == "" {
		return nil, fmt.Errorf("%w: empty job id", ErrMalformed)
	}
	req, err := ecdhpsi.ParseRequest(r.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(req.Blinded) < h.opts.MinCohort || len(h.data.IDs) < h.opts.MinCohort {
		return nil, ErrCohortTooSmall
	}
	key := ecdhpsi.NewKey()
	double, err := key.Blind(req.Blinded, h.opts.PSI)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ids := make([][]byte, len(h.data.IDs))
	for i, id := range h.data.IDs {
		ids[i] = []byte(id)
	}
	mine, err := key.BlindIdentifiers(ids, h.opts.PSI)
	if err != nil {
		return nil, err
	}
	rows := make(map[ecdhpsi.Element]int, len(mine))
	for i, e := range mine {
		rows[e] = i
	}
	perm, err := randPerm(len(mine))
	if err != nil {
		return nil, err
	}
	shuffled := make([]ecdhpsi.Element, len(mine))
	for k, i := range perm {
		shuffled[k] = mine[i]
	}
	wire, err := (&ecdhpsi.Response{DoubleBlinded: double, HostBlinded: shuffled}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.sessions[r.Job]; dup {
		return nil, fmt.Errorf("%w: job already aligned", ErrOrder)
	}
	h.sessions[r.Job] = &hostSession{stage: stageAligned, key: key, rows: rows}
	return &AlignResponse{Response: wire}, nil
}

// parseMembers decodes a vector of host-blinded elements, each one this job produced, without
// repeats.
func parseMembers(s *hostSession, b []byte) ([]int, error) {
	if len(b) == 0 || len(b)%ecdhpsi.ElementSize != 0 {
		return nil, fmt.Errorf("%w: member vector length", ErrMalformed)
	}
	n := len(b) / ecdhpsi.ElementSize
	rows := make([]int, n)
	seen := make(map[int]struct{}, n)
	for k := range n {
		e := ecdhpsi.Element(b[k*ecdhpsi.ElementSize : (k+1)*ecdhpsi.ElementSize])
		row, ok := s.rows[e]
		if !ok {
			return nil, ErrUnknownMember
		}
		if _, dup := seen[row]; dup {
			return nil, fmt.Errorf("%w: duplicate member", ErrMalformed)
		}
		seen[row] = struct{}{}
		rows[k] = row
	}
	return rows, nil
}

// ascendingWithinBatches reports whether the n elements of b are strictly ascending within
// each batch of the common order.
func ascendingWithinBatches(b []byte, n, batchSize int) bool {
	el := func(k int) []byte { return b[k*ecdhpsi.ElementSize : (k+1)*ecdhpsi.ElementSize] }
	for i := range batches(n, batchSize) {
		lo, hi := batchRange(n, batchSize, i)
		for k := lo + 1; k < hi; k++ {
			if bytes.Compare(el(k-1), el(k)) >= 0 {
				return false
			}
		}
	}
	return true
}

func (h *Host) cohort(s *hostSession, r *CohortRequest) (Message, error) {
	if s.stage != stageAligned {
		return nil, ErrOrder
	}
	if len(r.Members)/ecdhpsi.ElementSize < h.opts.MinCohort {
		return nil, ErrCohortTooSmall
	}
	p := r.Params
	if p.MaxBins < 1 || p.MaxBins > maxBins || !(p.LearningRate > 0 && p.LearningRate <= 10) || !(p.L2 >= 0 && p.L2 <= 10) || p.BatchSize < 0 {
		return nil, fmt.Errorf("%w: training parameters out of range", ErrMalformed)
	}
	if p.BatchSize > 0 && p.BatchSize < h.opts.MinCohort {
		return nil, fmt.Errorf("%w: batch size %d", ErrCohortTooSmall, p.BatchSize)
	}
	rows, err := parseMembers(s, r.Members)
	if err != nil {
		return nil, err
	}
	// The order carries nothing but the batches: strictly ascending within each.
	if !ascendingWithinBatches(r.Members, len(rows), p.BatchSize) {
		return nil, fmt.Errorf("%w: members not strictly ascending within a batch", ErrMalformed)
	}
	pk, err := paillier.ParsePublicKey(r.PublicKey, h.opts.KeyOptions)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	nf := len(h.data.Features)
	s.mean, s.std = make([]float64, nf), make([]float64, nf)
	for j := range nf {
		var sum, sq float64
		for _, i := range rows {
			sum += h.data.X[i][j]
		}
		s.mean[j] = sum / float64(len(rows))
		for _, i := range rows {
			d := h.data.X[i][j] - s.mean[j]
			sq += d * d
		}
		s.std[j] = math.Sqrt(sq / float64(len(rows)))
		if s.std[j] == 0 {
			s.std[j] = 1
		}
	}
	if _, perCT := packing(pk.Bits(), len(rows)); perCT < 1 {
		return nil, fmt.Errorf("%w: modulus too small for masked gradients", ErrKey)
	}
	s.cohort = rows
	maxBits, err := s.encodeFeatures(h.data.X)
	if err != nil {
		return nil, err
	}
	// |Σ d_i·x_ij| < n · 2^ResidualFracBits · 2^maxBits (|d_i| ≤ 1).
	s.bound = gradientBits(len(rows), maxBits)
	if maxBits > featureBitsBound(len(rows)) {
		return nil, fmt.Errorf("%w: standardised feature beyond its bound", ErrData) // cannot happen
	}
	s.pk, s.params = pk, p
	s.weights = make([]float64, nf)
	s.stage = stageCohort
	return &CohortResponse{Size: len(rows)}, nil
}

func (s *hostSession) standard(x float64, j int) float64 { return (x - s.mean[j]) / s.std[j] }

// encodeFeatures fills enc and shift from the cohort's rows of X and the standardisation, and
// returns the bit length of the largest |fixed-point feature|.
func (s *hostSession) encodeFeatures(X [][]float64) (int, error) {
	fx := paillier.FixedPoint{FracBits: FeatureFracBits}
	nf := len(s.mean)
	s.enc, s.shift = make([][]*big.Int, nf), make([]*big.Int, nf)
	maxBits := 0
	for j := range nf {
		col := make([]*big.Int, len(s.cohort))
		lo := new(big.Int)
		for k, i := range s.cohort {
			v, err := fx.Encode(s.standard(X[i][j], j))
			if err != nil {
				return 0, err
			}
			col[k] = v
			maxBits = max(maxBits, v.BitLen())
			if k == 0 || v.Cmp(lo) < 0 {
				lo.Set(v)
			}
		}
		for _, v := range col {
			v.Sub(v, lo)
		}
		s.enc[j], s.shift[j] = col, lo
	}
	return maxBits, nil
}

// parseCiphertexts parses exactly n ciphertexts under pk.
func parseCiphertexts(pk *paillier.PublicKey, in [][]byte, n int) ([]*paillier.Ciphertext, error) {
	if len(in) != n {
		return nil, fmt.Errorf("%w: %d ciphertexts, want %d", ErrMalformed, len(in), n)
	}
	out := make([]*paillier.Ciphertext, n)
	err := parallelFor(n, func(i int) error {
		ct, err := pk.ParseCiphertext(in[i])
		if err != nil {
			return fmt.Errorf("%w: ciphertext %d: %v", ErrMalformed, i, err)
		}
		out[i] = ct
		return nil
	})
	return out, err
}

func (h *Host) bin(s *hostSession, r *BinRequest) (Message, error) {
	if s.stage != stageCohort || s.iter != 0 {
		return nil, ErrOrder
	}
	labels, err := parseCiphertexts(s.pk, r.Labels, len(s.cohort))
	if err != nil {
		return nil, err
	}
	resp := &BinResponse{Features: make([]BinnedFeature, len(h.data.Features))}
	err = parallelFor(len(h.data.Features), func(j int) error {
		vals := make([]float64, len(s.cohort))
		for k, i := range s.cohort {
			vals[k] = h.data.X[i][j]
		}
		edges, bins := quantileBins(vals, s.params.MaxBins, h.opts.MinBin)
		nb := len(edges) + 1
		groups := make([][]*paillier.Ciphertext, nb)
		counts := make([]int, nb)
		for k, b := range bins {
			groups[b] = append(groups[b], labels[k])
			counts[b]++
		}
		f := BinnedFeature{Name: h.data.Features[j], Counts: counts}
		for b := range nb {
			if counts[b] < h.opts.MinBin { // only if the whole cohort is below MinBin: checked above
				return ErrCohortTooSmall
			}
			sum, err := s.pk.Sum(groups[b]...)
			if err != nil {
				return err
			}
			if sum, err = s.pk.Rerandomize(sum); err != nil {
				return err
			}
			f.EventSums = append(f.EventSums, sum.Bytes())
		}
		resp.Features[j] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (h *Host) partial(s *hostSession, r *PartialRequest) (Message, error) {
	if s.stage != stageCohort || r.Iter != s.iter {
		return nil, ErrOrder
	}
	if s.iter >= h.opts.MaxIterations {
		return nil, fmt.Errorf("%w: iteration limit reached", ErrOrder)
	}
	lo, hi := batchRange(len(s.cohort), s.params.BatchSize, s.iter)
	out := make([]float64, hi-lo)
	for k, i := range s.cohort[lo:hi] {
		out[k] = s.score(h.data.X[i])
	}
	s.stage = stagePartial
	return &PartialResponse{Iter: s.iter, Values: out}, nil
}

func (s *hostSession) score(x []float64) float64 {
	u := 0.0
	for j, w := range s.weights {
		u += w * s.standard(x[j], j)
	}
	return u
}

func (h *Host) gradient(s *hostSession, r *GradientRequest) (Message, error) {
	if s.stage != stagePartial || r.Iter != s.iter {
		return nil, ErrOrder
	}
	lo, hi := batchRange(len(s.cohort), s.params.BatchSize, s.iter)
	res, err := parseCiphertexts(s.pk, r.Residuals, hi-lo)
	if err != nil {
		return nil, err
	}
	// E(Σ_k d_k·x_kj) = E(Σ_k d_k·enc[j][k]) + shift[j]·E(Σ_k d_k): one multi-exponentiation
	// per feature over the shared residuals, with short non-negative exponents.
	sum, err := s.pk.Sum(res...)
	if err != nil {
		return nil, err
	}
	nf := len(s.weights)
	grads := make([]*paillier.Ciphertext, nf)
	err = parallelFor(nf, func(j int) error {
		g, err := s.pk.LinearCombination(res, s.enc[j][lo:hi])
		if err != nil {
			return err
		}
		if s.shift[j].Sign() != 0 {
			corr, err := s.pk.MulPlain(sum, s.shift[j])
			if err != nil {
				return err
			}
			if g, err = s.pk.Add(g, corr); err != nil {
				return err
			}
		}
		grads[j] = g
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Mask each gradient with 2^B + r_j, r_j uniform on [0, 2^(B+1+maskSecurityBits)), for the
	// public bound B ≥ s.bound that the guest can compute too (so the size of what it decrypts
	// says nothing about this host's features): the slot is then non-negative, and
	// g_j + 2^B ∈ [0, 2^(B+1)) is hidden to within 2^-maskSecurityBits. Pack the slots,
	// several per ciphertext, and rerandomize each.
	pub := gradientBits(len(s.cohort), featureBitsBound(len(s.cohort)))
	masks := make([]*big.Int, nf)
	limit := new(big.Int).Lsh(big.NewInt(1), uint(pub+1+maskSecurityBits))
	offset := new(big.Int).Lsh(big.NewInt(1), uint(pub))
	for j := range masks {
		m, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, err
		}
		masks[j] = m.Add(m, offset)
	}
	slotBits, perCT := packing(s.pk.Bits(), len(s.cohort))
	shift := new(big.Int).Lsh(big.NewInt(1), uint(slotBits))
	masked := make([][]byte, (nf+perCT-1)/perCT)
	err = parallelFor(len(masked), func(c int) error {
		first, last := c*perCT, min(nf, (c+1)*perCT)
		acc, packedMask := grads[last-1], new(big.Int).Set(masks[last-1])
		for j := last - 2; j >= first; j-- { // Horner: Σ_j (g_j + mask_j)·2^(slotBits·(j-first))
			var err error
			if acc, err = s.pk.MulPlain(acc, shift); err != nil {
				return err
			}
			if acc, err = s.pk.Add(acc, grads[j]); err != nil {
				return err
			}
			packedMask.Lsh(packedMask, uint(slotBits)).Add(packedMask, masks[j])
		}
		acc, err := s.pk.AddPlain(acc, packedMask)
		if err != nil {
			return err
		}
		if acc, err = s.pk.Rerandomize(acc); err != nil {
			return err
		}
		masked[c] = acc.Bytes()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.masks = masks
	s.stage = stageGradient
	return &GradientMasked{Iter: s.iter, Masked: masked}, nil
}

func (h *Host) unmask(s *hostSession, r *UnmaskRequest) (Message, error) {
	if s.stage != stageGradient || r.Iter != s.iter {
		return nil, ErrOrder
	}
	if len(r.Values) != len(s.weights) {
		return nil, fmt.Errorf("%w: %d gradients, want %d", ErrMalformed, len(r.Values), len(s.weights))
	}
	fx := paillier.FixedPoint{FracBits: ResidualFracBits + FeatureFracBits}
	lo, hi := batchRange(len(s.cohort), s.params.BatchSize, s.iter)
	n := float64(hi - lo)
	grads := make([]float64, len(s.weights))
	for j, str := range r.Values {
		v, ok := new(big.Int).SetString(str, 10)
		if !ok || len(str) > 1000 {
			return nil, fmt.Errorf("%w: gradient %d is not an integer", ErrMalformed, j)
		}
		v.Sub(v, s.masks[j])
		// An honest guest's value unmasks to within the bound; anything else is refused.
		if v.BitLen() > s.bound {
			return nil, fmt.Errorf("%w: gradient %d out of range", ErrMalformed, j)
		}
		grads[j] = fx.Decode(v)/n + s.params.L2*s.weights[j]
	}
	for j := range s.weights {
		s.weights[j] -= s.params.LearningRate * grads[j]
	}
	s.masks = nil
	s.iter++
	s.stage = stageCohort
	return &Ack{}, nil
}

func (h *Host) score(s *hostSession, r *ScoreRequest) (Message, error) {
	if s.stage != stageCohort || s.iter == 0 {
		return nil, ErrOrder
	}
	switch {
	case r.Applicant != "" && len(r.Members) == 0:
		i, ok := h.data.index()[r.Applicant]
		if !ok {
			return nil, ErrUnknownMember
		}
		return &ScoreResponse{Values: []float64{s.score(h.data.X[i])}}, nil
	case r.Applicant == "" && len(r.Members) > 0:
		rows, err := parseMembers(s, r.Members)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(rows))
		for k, i := range rows {
			out[k] = s.score(h.data.X[i])
		}
		return &ScoreResponse{Values: out}, nil
	}
	return nil, fmt.Errorf("%w: score either members or one applicant", ErrMalformed)
}

// randPerm returns a uniformly random permutation of [0, n) from crypto/rand.
func randPerm(n int) ([]int, error) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		jb, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return nil, err
		}
		j := int(jb.Int64())
		p[i], p[j] = p[j], p[i]
	}
	return p, nil
}

// HostModel is a host's part of a trained model: its weights and standardisation. It stays
// with the host (the guest never learns it) and is what the host scores applicants with.
type HostModel struct {
	Job      string    `json:"job"`
	Features []string  `json:"features"`
	Weights  []float64 `json:"weights"`
	Mean     []float64 `json:"mean"`
	Std      []float64 `json:"std"`
}

// lockSession returns job's session, locked; the caller unlocks it.
func (h *Host) lockSession(job string) (*hostSession, error) {
	h.mu.Lock()
	s := h.sessions[job]
	h.mu.Unlock()
	if s == nil {
		return nil, ErrUnknownJob
	}
	s.mu.Lock()
	return s, nil
}

// Model returns the host's trained part of job's model.
func (h *Host) Model(job string) (*HostModel, error) {
	s, err := h.lockSession(job)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.iter == 0 {
		return nil, ErrOrder
	}
	return &HostModel{Job: job, Features: h.Features(), Weights: slices.Clone(s.weights), Mean: slices.Clone(s.mean), Std: slices.Clone(s.std)}, nil
}

// LoadModel installs a saved model for scoring applicants (ScoreRequest with Applicant); the
// job accepts no training steps.
func (h *Host) LoadModel(m *HostModel) error {
	nf := len(h.data.Features)
	if m.Job == "" || !slices.Equal(m.Features, h.data.Features) || len(m.Weights) != nf || len(m.Mean) != nf || len(m.Std) != nf {
		return fmt.Errorf("%w: model does not fit the host's features", ErrData)
	}
	for j := range nf {
		if !(m.Std[j] > 0) || math.IsInf(m.Std[j], 0) || math.IsNaN(m.Weights[j]) || math.IsNaN(m.Mean[j]) {
			return fmt.Errorf("%w: model values", ErrData)
		}
	}
	s := &hostSession{stage: stageCohort, iter: 1, weights: slices.Clone(m.Weights), mean: slices.Clone(m.Mean), std: slices.Clone(m.Std)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions[m.Job] = s
	return nil
}
