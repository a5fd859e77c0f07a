package joint

import (
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
	mu      sync.Mutex
	stage   hostStage
	key     *ecdhpsi.Key
	rows    map[ecdhpsi.Element]int // host-blinded element → row
	cohort  []int                   // rows, in cohort order
	pk      *paillier.PublicKey
	params  TrainParams
	mean    []float64
	std     []float64
	enc     [][]*big.Int // enc[i][j]: |standardised feature j of cohort member i| at FeatureFracBits
	neg     [][]bool
	weights []float64
	iter    int
	masks   []*big.Int
	bound   int // bit bound of |gradient| before masking
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
	h.mu.Lock()
	s := h.sessions[job]
	h.mu.Unlock()
	if s == nil {
		return nil, ErrUnknownJob
	}
	s.mu.Lock()
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
// repeats; if ascending, they must be strictly ascending.
func parseMembers(s *hostSession, b []byte, ascending bool) ([]int, error) {
	if len(b) == 0 || len(b)%ecdhpsi.ElementSize != 0 {
		return nil, fmt.Errorf("%w: member vector length", ErrMalformed)
	}
	n := len(b) / ecdhpsi.ElementSize
	rows := make([]int, n)
	seen := make(map[int]struct{}, n)
	var prev []byte
	for k := range n {
		e := ecdhpsi.Element(b[k*ecdhpsi.ElementSize : (k+1)*ecdhpsi.ElementSize])
		if ascending && prev != nil && string(prev) >= string(e[:]) {
			return nil, fmt.Errorf("%w: members not strictly ascending", ErrMalformed)
		}
		prev = b[k*ecdhpsi.ElementSize : (k+1)*ecdhpsi.ElementSize]
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

func (h *Host) cohort(s *hostSession, r *CohortRequest) (Message, error) {
	if s.stage != stageAligned {
		return nil, ErrOrder
	}
	if len(r.Members)/ecdhpsi.ElementSize < h.opts.MinCohort {
		return nil, ErrCohortTooSmall
	}
	rows, err := parseMembers(s, r.Members, true)
	if err != nil {
		return nil, err
	}
	pk, err := paillier.ParsePublicKey(r.PublicKey, h.opts.KeyOptions)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	p := r.Params
	if p.MaxBins < 1 || p.MaxBins > maxBins || !(p.LearningRate > 0 && p.LearningRate <= 10) || !(p.L2 >= 0 && p.L2 <= 10) {
		return nil, fmt.Errorf("%w: training parameters out of range", ErrMalformed)
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
	fx := paillier.FixedPoint{FracBits: FeatureFracBits}
	s.enc, s.neg = make([][]*big.Int, len(rows)), make([][]bool, len(rows))
	maxBits := 0
	for k, i := range rows {
		s.enc[k], s.neg[k] = make([]*big.Int, nf), make([]bool, nf)
		for j := range nf {
			v, err := fx.Encode(s.standard(h.data.X[i][j], j))
			if err != nil {
				return nil, err
			}
			s.neg[k][j] = v.Sign() < 0
			s.enc[k][j] = v.Abs(v)
			maxBits = max(maxBits, v.BitLen())
		}
	}
	// |Σ d_i·x_ij| < n · 2^ResidualFracBits · 2^maxBits (|d_i| ≤ 1).
	s.bound = ResidualFracBits + maxBits + big.NewInt(int64(len(rows))).BitLen() + 1
	if s.bound+maskSecurityBits+2 >= pk.Bits() {
		return nil, fmt.Errorf("%w: modulus too small for masked gradients", ErrKey)
	}
	s.cohort, s.pk, s.params = rows, pk, p
	s.weights = make([]float64, nf)
	s.stage = stageCohort
	return &CohortResponse{Size: len(rows)}, nil
}

func (s *hostSession) standard(x float64, j int) float64 { return (x - s.mean[j]) / s.std[j] }

// parseCiphertexts parses exactly n ciphertexts under pk.
func parseCiphertexts(pk *paillier.PublicKey, in [][]byte, n int) ([]*paillier.Ciphertext, error) {
	if len(in) != n {
		return nil, fmt.Errorf("%w: %d ciphertexts, want %d", ErrMalformed, len(in), n)
	}
	out := make([]*paillier.Ciphertext, n)
	for i, b := range in {
		ct, err := pk.ParseCiphertext(b)
		if err != nil {
			return nil, fmt.Errorf("%w: ciphertext %d: %v", ErrMalformed, i, err)
		}
		out[i] = ct
	}
	return out, nil
}

func (h *Host) bin(s *hostSession, r *BinRequest) (Message, error) {
	if s.stage != stageCohort || s.iter != 0 {
		return nil, ErrOrder
	}
	labels, err := parseCiphertexts(s.pk, r.Labels, len(s.cohort))
	if err != nil {
		return nil, err
	}
	resp := &BinResponse{}
	vals := make([]float64, len(s.cohort))
	for j, name := range h.data.Features {
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
		f := BinnedFeature{Name: name, Counts: counts}
		for b := range nb {
			if counts[b] < h.opts.MinBin { // only if the whole cohort is below MinBin: checked above
				return nil, ErrCohortTooSmall
			}
			sum, err := s.pk.Sum(groups[b]...)
			if err != nil {
				return nil, err
			}
			if sum, err = s.pk.Rerandomize(sum); err != nil {
				return nil, err
			}
			f.EventSums = append(f.EventSums, sum.Bytes())
		}
		resp.Features = append(resp.Features, f)
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
	out := make([]float64, len(s.cohort))
	for k, i := range s.cohort {
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
	res, err := parseCiphertexts(s.pk, r.Residuals, len(s.cohort))
	if err != nil {
		return nil, err
	}
	nf := len(s.weights)
	masked := make([][]byte, nf)
	s.masks = make([]*big.Int, nf)
	limit := new(big.Int).Lsh(big.NewInt(1), uint(s.bound+maskSecurityBits))
	for j := range nf {
		// Σ_i E(d_i)^|x_ij| split by the sign of x_ij, so that every exponent is short.
		var pos, neg []*paillier.Ciphertext
		for k := range s.cohort {
			x := s.enc[k][j]
			if x.Sign() == 0 {
				continue
			}
			t, err := s.pk.MulPlain(res[k], x)
			if err != nil {
				return nil, err
			}
			if s.neg[k][j] {
				neg = append(neg, t)
			} else {
				pos = append(pos, t)
			}
		}
		sp, err := s.pk.Sum(pos...)
		if err != nil {
			return nil, err
		}
		sn, err := s.pk.Sum(neg...)
		if err != nil {
			return nil, err
		}
		g, err := s.pk.Sub(sp, sn)
		if err != nil {
			return nil, err
		}
		mask, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, err
		}
		if g, err = s.pk.AddPlain(g, mask); err != nil {
			return nil, err
		}
		if g, err = s.pk.Rerandomize(g); err != nil {
			return nil, err
		}
		s.masks[j] = mask
		masked[j] = g.Bytes()
	}
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
	n := float64(len(s.cohort))
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
		rows, err := parseMembers(s, r.Members, false)
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

// Model returns the host's trained part of job's model.
func (h *Host) Model(job string) (*HostModel, error) {
	h.mu.Lock()
	s := h.sessions[job]
	h.mu.Unlock()
	if s == nil {
		return nil, ErrUnknownJob
	}
	s.mu.Lock()
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
