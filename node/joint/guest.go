package joint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"sync"

	"github.com/creditexchange/node/crypto/ecdhpsi"
	"github.com/creditexchange/node/crypto/paillier"
)

// DefaultIterations is GuestOptions.Iterations when it is not set.
const DefaultIterations = 100

// GuestOptions are the label holder's choices for a training job.
type GuestOptions struct {
	MinCohort    int                  // abort below this intersection size (default DefaultMinCohort)
	Params       TrainParams          // binning and gradient parameters sent to every host
	Iterations   int                  // gradient steps (default 100), each over one batch
	Epochs       int                  // if positive, passes over the training cohort: Iterations = Epochs × batches
	TestFraction float64              // share of the cohort held out for evaluation (default 0.3)
	SplitSeed    uint64               // seed of the train/test split, so that runs are comparable
	Key          *paillier.PrivateKey // the guest's Paillier key; nil means a fresh 2048-bit key
	PSI          ecdhpsi.Options
	// Progress, if set, is told each step (never data).
	Progress func(step string, iter int)
}

func (o GuestOptions) withDefaults() GuestOptions {
	if o.MinCohort <= 0 {
		o.MinCohort = DefaultMinCohort
	}
	if o.Iterations <= 0 {
		o.Iterations = DefaultIterations
	}
	if o.TestFraction <= 0 || o.TestFraction >= 1 {
		o.TestFraction = 0.3
	}
	if o.Params.MaxBins == 0 {
		o.Params.MaxBins = 10
	}
	if o.Params.LearningRate == 0 {
		o.Params.LearningRate = 0.5
	}
	return o
}

// HostLink names a host and the connection to it.
type HostLink struct {
	Name string
	Conn Conn
}

// Guest is the label holder (a bank). It drives a job against its hosts.
type Guest struct {
	data *Dataset
	opts GuestOptions
}

// NewGuest returns a guest for data, which must carry labels.
func NewGuest(data *Dataset, opts GuestOptions) (*Guest, error) {
	if err := data.Validate(); err != nil {
		return nil, err
	}
	if data.Labels == nil {
		return nil, fmt.Errorf("%w: the guest needs labels", ErrData)
	}
	return &Guest{data: data, opts: opts.withDefaults()}, nil
}

// Model is the guest's view of a trained model: its own weights and standardisation, and the
// hosts whose partial scores complete the linear predictor. Host weights never leave the hosts.
type Model struct {
	Job       string    `json:"job"`
	Intercept float64   `json:"intercept"`
	Features  []string  `json:"features"`
	Weights   []float64 `json:"weights"`
	Mean      []float64 `json:"mean"`
	Std       []float64 `json:"std"`
	Hosts     []string  `json:"hosts"`
}

// Score returns the linear predictor for guest features x and the hosts' partial scores.
func (m *Model) Score(x []float64, hostPartials []float64) float64 {
	z := m.Intercept
	for j, w := range m.Weights {
		z += w * (x[j] - m.Mean[j]) / m.Std[j]
	}
	for _, u := range hostPartials {
		z += u
	}
	return z
}

// Result is what a training job yields at the guest.
type Result struct {
	Model        *Model
	Intersection int
	Train, Test  int
	IV           []FeatureIV
	TestLabels   []int
	TestScores   []float64
	TrainAUC     float64
	TestAUC      float64
	TestKS       float64

	trainRows, testRows []int // guest rows, for comparisons in tests
}

// hostView is what the guest keeps per host.
type hostView struct {
	link     HostLink
	elem     map[int]ecdhpsi.Element // guest row → host-blinded element
	order    []int                   // guest rows in this host's cohort order
	features []string
}

// Train runs alignment, binning and logistic regression with every host, then evaluates the
// model on the held-out part of the cohort.
func (g *Guest) Train(ctx context.Context, job string, hosts []HostLink) (*Result, error) {
	o := g.opts
	progress := func(step string, iter int) {
		if o.Progress != nil {
			o.Progress(step, iter)
		}
	}
	sk := o.Key
	if sk == nil {
		var err error
		if sk, err = paillier.GenerateKey(paillier.Options{}); err != nil {
			return nil, err
		}
	}
	pk := sk.Public()
	pkBytes, err := pk.MarshalBinary()
	if err != nil {
		return nil, err
	}

	// (a) Alignment with each host; the cohort is the members every host has.
	views := make([]*hostView, len(hosts))
	inAll := make(map[int]int)
	for h, link := range hosts {
		progress("align "+link.Name, 0)
		v, err := g.align(ctx, job, link)
		if err != nil {
			return nil, fmt.Errorf("align with %s: %w", link.Name, err)
		}
		views[h] = v
		for row := range v.elem {
			inAll[row]++
		}
	}
	var cohort []int
	for row, c := range inAll {
		if c == len(hosts) {
			cohort = append(cohort, row)
		}
	}
	sort.Ints(cohort)
	res := &Result{Intersection: len(cohort)}
	if len(cohort) < o.MinCohort {
		return res, ErrCohortTooSmall
	}
	rng := mrand.New(mrand.NewPCG(o.SplitSeed, 0x6a6f696e74))
	rng.Shuffle(len(cohort), func(i, j int) { cohort[i], cohort[j] = cohort[j], cohort[i] })
	nTest := int(math.Round(float64(len(cohort)) * o.TestFraction))
	test, train := cohort[:nTest], cohort[nTest:]
	res.Train, res.Test = len(train), len(test)
	res.trainRows, res.testRows = train, test
	if len(train) < o.MinCohort {
		return res, ErrCohortTooSmall
	}

	// The training cohort, in each host's order: batch after batch (consecutive runs of the
	// shuffled train), each batch sorted by that host's blinded elements. Every host gets the
	// same batches, as sets, and nothing else from the order.
	for _, v := range views {
		v.order = append([]int(nil), train...)
		for b := range batches(len(train), o.Params.BatchSize) {
			lo, hi := batchRange(len(train), o.Params.BatchSize, b)
			slices.SortFunc(v.order[lo:hi], func(a, b int) int {
				ea, eb := v.elem[a], v.elem[b]
				return bytes.Compare(ea[:], eb[:])
			})
		}
		members := make([]byte, 0, len(v.order)*ecdhpsi.ElementSize)
		for _, row := range v.order {
			e := v.elem[row]
			members = append(members, e[:]...)
		}
		if _, err := expect[*CohortResponse](v.link.Conn.Call(ctx, &CohortRequest{Job: job, PublicKey: pkBytes, Members: members, Params: o.Params})); err != nil {
			return res, fmt.Errorf("cohort with %s: %w", v.link.Name, err)
		}
	}

	// (b) Binning and WoE/IV: the guest's own features locally, the hosts' by encrypted labels.
	progress("binning", 0)
	res.IV = g.ownIV(train)
	for _, v := range views {
		iv, err := g.hostIV(ctx, job, sk, v)
		if err != nil {
			return res, fmt.Errorf("binning with %s: %w", v.link.Name, err)
		}
		res.IV = append(res.IV, iv...)
	}

	// (c) Logistic regression.
	model, err := g.regress(ctx, job, sk, views, train, progress)
	if err != nil {
		return res, err
	}
	res.Model = model

	// Evaluation: partial scores of held-out members, by host-blinded element.
	progress("evaluate", 0)
	trainScores, err := g.scoreMembers(ctx, job, model, views, train)
	if err != nil {
		return res, err
	}
	res.TrainAUC = AUC(g.labelsOf(train), trainScores)
	if len(test) > 0 {
		if res.TestScores, err = g.scoreMembers(ctx, job, model, views, test); err != nil {
			return res, err
		}
		res.TestLabels = g.labelsOf(test)
		res.TestAUC = AUC(res.TestLabels, res.TestScores)
		res.TestKS = KS(res.TestLabels, res.TestScores)
	}
	return res, nil
}

func (g *Guest) labelsOf(rows []int) []int {
	out := make([]int, len(rows))
	for k, r := range rows {
		out[k] = g.data.Labels[r]
	}
	return out
}

// align runs ECDH-PSI with one host and returns, for each shared guest row, the host's own
// blinded element a·H(x) of that member (which only the host can map to its row).
func (g *Guest) align(ctx context.Context, job string, link HostLink) (*hostView, error) {
	key := ecdhpsi.NewKey()
	ids := make([][]byte, len(g.data.IDs))
	for i, id := range g.data.IDs {
		ids[i] = []byte(id)
	}
	blinded, err := key.BlindIdentifiers(ids, g.opts.PSI)
	if err != nil {
		return nil, err
	}
	perm, err := randPerm(len(blinded)) // perm[k] = guest row at request position k
	if err != nil {
		return nil, err
	}
	req := &ecdhpsi.Request{Blinded: make([]ecdhpsi.Element, len(blinded))}
	for k, row := range perm {
		req.Blinded[k] = blinded[row]
	}
	wire, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	ar, err := expect[*AlignResponse](link.Conn.Call(ctx, &AlignRequest{Job: job, Request: wire}))
	if err != nil {
		return nil, err
	}
	resp, err := ecdhpsi.ParseResponse(ar.Response)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(resp.DoubleBlinded) != len(req.Blinded) {
		return nil, fmt.Errorf("%w: response length", ErrMalformed)
	}
	theirs, err := key.Blind(resp.HostBlinded, g.opts.PSI) // b·a·H(x)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	byDouble := make(map[ecdhpsi.Element]int, len(theirs))
	for k, e := range theirs {
		byDouble[e] = k
	}
	v := &hostView{link: link, elem: map[int]ecdhpsi.Element{}}
	for k, e := range resp.DoubleBlinded {
		if hk, ok := byDouble[e]; ok {
			v.elem[perm[k]] = resp.HostBlinded[hk]
		}
	}
	return v, nil
}

func (g *Guest) ownIV(train []int) []FeatureIV {
	var out []FeatureIV
	vals := make([]float64, len(train))
	for j, name := range g.data.Features {
		for k, r := range train {
			vals[k] = g.data.X[r][j]
		}
		edges, bins := quantileBins(vals, g.opts.Params.MaxBins, DefaultMinBin)
		stats := make([]BinStat, len(edges)+1)
		for k, b := range bins {
			stats[b].Count++
			stats[b].Events += g.data.Labels[train[k]]
		}
		out = append(out, FeatureIV{Party: "guest", Feature: name, Bins: stats, IV: woeIV(stats)})
	}
	return out
}

// encryptAll encrypts vals with the key holder's faster encryption (paillier.PrivateKey.Encrypt:
// the same ciphertext distribution as the public key's) on every core.
func (g *Guest) encryptAll(sk *paillier.PrivateKey, vals []*big.Int) ([][]byte, error) {
	out := make([][]byte, len(vals))
	err := parallelFor(len(vals), func(i int) error {
		ct, err := sk.Encrypt(vals[i])
		if err != nil {
			return err
		}
		out[i] = ct.Bytes()
		return nil
	})
	return out, err
}

func (g *Guest) hostIV(ctx context.Context, job string, sk *paillier.PrivateKey, v *hostView) ([]FeatureIV, error) {
	pk := sk.Public()
	ys := make([]*big.Int, len(v.order))
	for k, row := range v.order {
		ys[k] = big.NewInt(int64(g.data.Labels[row]))
	}
	labels, err := g.encryptAll(sk, ys)
	if err != nil {
		return nil, err
	}
	br, err := expect[*BinResponse](v.link.Conn.Call(ctx, &BinRequest{Job: job, Labels: labels}))
	if err != nil {
		return nil, err
	}
	var out []FeatureIV
	for _, f := range br.Features {
		if len(f.Counts) == 0 || len(f.Counts) != len(f.EventSums) || len(f.Counts) > maxBins {
			return nil, fmt.Errorf("%w: bin vectors", ErrMalformed)
		}
		cts, err := parseCiphertexts(pk, f.EventSums, len(f.Counts))
		if err != nil {
			return nil, err
		}
		stats := make([]BinStat, len(f.Counts))
		total := 0
		for b, ct := range cts {
			m, err := sk.Decrypt(ct)
			if err != nil {
				return nil, err
			}
			stats[b] = BinStat{Count: f.Counts[b], Events: int(m.Int64())}
			if !m.IsInt64() || stats[b].Events < 0 || stats[b].Events > f.Counts[b] {
				return nil, fmt.Errorf("%w: bin sum out of range", ErrMalformed)
			}
			total += f.Counts[b]
		}
		if total != len(v.order) {
			return nil, fmt.Errorf("%w: bin counts do not add up to the cohort", ErrMalformed)
		}
		out = append(out, FeatureIV{Party: v.link.Name, Feature: f.Name, Bins: stats, IV: woeIV(stats)})
		v.features = append(v.features, f.Name)
	}
	return out, nil
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func (g *Guest) regress(ctx context.Context, job string, sk *paillier.PrivateKey, views []*hostView, train []int, progress func(string, int)) (*Model, error) {
	o := g.opts
	pk := sk.Public()
	n := len(train)
	pos := make(map[int]int, n) // guest row → index in train
	for k, r := range train {
		pos[r] = k
	}
	m := &Model{Job: job, Features: g.data.Features}
	nf := len(g.data.Features)
	m.Mean, m.Std, m.Weights = make([]float64, nf), make([]float64, nf), make([]float64, nf)
	for _, v := range views {
		m.Hosts = append(m.Hosts, v.link.Name)
	}
	for j := range nf {
		var s, sq float64
		for _, r := range train {
			s += g.data.X[r][j]
		}
		m.Mean[j] = s / float64(n)
		for _, r := range train {
			d := g.data.X[r][j] - m.Mean[j]
			sq += d * d
		}
		m.Std[j] = math.Sqrt(sq / float64(n))
		if m.Std[j] == 0 {
			m.Std[j] = 1
		}
	}
	fd := paillier.FixedPoint{FracBits: ResidualFracBits}
	z := make([]float64, n)
	d := make([]float64, n)
	iterations := o.Iterations
	if o.Epochs > 0 {
		iterations = o.Epochs * batches(n, o.Params.BatchSize)
	}
	slotBits, perCT := packing(pk.Bits(), n)
	if perCT < 1 {
		return nil, fmt.Errorf("%w: modulus too small for masked gradients", ErrKey)
	}
	gw := make([]float64, nf)
	for it := range iterations {
		progress("regression", it)
		// The batch: train[lo:hi], the same members as positions [lo, hi) of every host's order.
		lo, hi := batchRange(n, o.Params.BatchSize, it)
		batch := train[lo:hi]
		for _, r := range batch {
			z[pos[r]] = m.Score(g.data.X[r], nil)
		}
		for _, v := range views {
			pr, err := expect[*PartialResponse](v.link.Conn.Call(ctx, &PartialRequest{Job: job, Iter: it}))
			if err != nil {
				return nil, fmt.Errorf("partial predictors from %s: %w", v.link.Name, err)
			}
			if pr.Iter != it || len(pr.Values) != hi-lo {
				return nil, fmt.Errorf("%w: partial predictors", ErrMalformed)
			}
			for k, row := range v.order[lo:hi] {
				u := pr.Values[k]
				if math.IsNaN(u) || math.IsInf(u, 0) {
					return nil, fmt.Errorf("%w: partial predictor not finite", ErrMalformed)
				}
				z[pos[row]] += u
			}
		}
		for _, r := range batch {
			d[pos[r]] = sigmoid(z[pos[r]]) - float64(g.data.Labels[r])
		}
		// Host gradients: encrypted residuals in each host's order, masked sums back.
		for _, v := range views {
			enc := make([]*big.Int, hi-lo)
			for k, row := range v.order[lo:hi] {
				var err error
				if enc[k], err = fd.Encode(d[pos[row]]); err != nil {
					return nil, err
				}
			}
			cts, err := g.encryptAll(sk, enc)
			if err != nil {
				return nil, err
			}
			gm, err := expect[*GradientMasked](v.link.Conn.Call(ctx, &GradientRequest{Job: job, Iter: it, Residuals: cts}))
			if err != nil {
				return nil, fmt.Errorf("gradient from %s: %w", v.link.Name, err)
			}
			if gm.Iter != it {
				return nil, fmt.Errorf("%w: gradient iteration", ErrMalformed)
			}
			vals, err := unpackGradients(sk, gm.Masked, len(v.features), slotBits, perCT)
			if err != nil {
				return nil, err
			}
			if _, err := expect[*Ack](v.link.Conn.Call(ctx, &UnmaskRequest{Job: job, Iter: it, Values: vals})); err != nil {
				return nil, fmt.Errorf("unmask at %s: %w", v.link.Name, err)
			}
		}
		// The guest's own step, in the clear, over the same batch.
		var gb float64
		clear(gw)
		for _, r := range batch {
			dk := d[pos[r]]
			gb += dk
			for j := range nf {
				gw[j] += dk * (g.data.X[r][j] - m.Mean[j]) / m.Std[j]
			}
		}
		size := float64(hi - lo)
		m.Intercept -= o.Params.LearningRate * gb / size
		for j := range nf {
			m.Weights[j] -= o.Params.LearningRate * (gw[j]/size + o.Params.L2*m.Weights[j])
		}
	}
	return m, nil
}

// unpackGradients decrypts a host's packed masked gradients (GradientMasked) and returns the nf
// slot values as decimal strings, refusing a packing that does not fit.
func unpackGradients(sk *paillier.PrivateKey, packed [][]byte, nf, slotBits, perCT int) ([]string, error) {
	cts, err := parseCiphertexts(sk.Public(), packed, (nf+perCT-1)/perCT)
	if err != nil {
		return nil, err
	}
	vals := make([]string, 0, nf)
	for c, ct := range cts {
		m, err := sk.Decrypt(ct)
		if err != nil {
			return nil, err
		}
		slots, ok := unpack(m, slotBits, min(perCT, nf-c*perCT))
		if !ok {
			return nil, fmt.Errorf("%w: packed gradients out of range", ErrMalformed)
		}
		for _, v := range slots {
			vals = append(vals, v.String())
		}
	}
	return vals, nil
}

// scoreMembers returns the model's linear predictor for guest rows of the alignment.
func (g *Guest) scoreMembers(ctx context.Context, job string, m *Model, views []*hostView, rows []int) ([]float64, error) {
	out := make([]float64, len(rows))
	for k, r := range rows {
		out[k] = m.Score(g.data.X[r], nil)
	}
	for _, v := range views {
		members := make([]byte, 0, len(rows)*ecdhpsi.ElementSize)
		for _, r := range rows {
			e := v.elem[r]
			members = append(members, e[:]...)
		}
		sr, err := expect[*ScoreResponse](v.link.Conn.Call(ctx, &ScoreRequest{Job: job, Members: members}))
		if err != nil {
			return nil, fmt.Errorf("scores from %s: %w", v.link.Name, err)
		}
		if len(sr.Values) != len(rows) {
			return nil, fmt.Errorf("%w: score vector", ErrMalformed)
		}
		for k, u := range sr.Values {
			if math.IsNaN(u) || math.IsInf(u, 0) {
				return nil, fmt.Errorf("%w: score not finite", ErrMalformed)
			}
			out[k] += u
		}
	}
	return out, nil
}

// ScoreApplicant is inference for one applicant, "model goes to the data": each host returns
// only its partial score for the applicant, never features; the guest adds its own part and
// returns the probability of the event. Over the network each host checks the applicant's
// authorisation and logs the inquiry before answering. The hosts are asked concurrently
// (hosts' Conns must allow that); every failing host is named in the error.
func (g *Guest) ScoreApplicant(ctx context.Context, m *Model, hosts []HostLink, applicant string) (float64, error) {
	row, ok := g.data.index()[applicant]
	if !ok {
		return 0, ErrUnknownMember
	}
	if len(hosts) != len(m.Hosts) {
		return 0, fmt.Errorf("%w: the model needs %d hosts", ErrMalformed, len(m.Hosts))
	}
	// The hosts are asked at once: a score waits for the slowest host, not for their sum.
	partials := make([]float64, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for h, link := range hosts {
		wg.Go(func() {
			sr, err := expect[*ScoreResponse](link.Conn.Call(ctx, &ScoreRequest{Job: m.Job, Applicant: applicant}))
			switch {
			case err != nil:
				errs[h] = fmt.Errorf("score from %s: %w", link.Name, err)
			case len(sr.Values) != 1 || math.IsNaN(sr.Values[0]) || math.IsInf(sr.Values[0], 0):
				errs[h] = fmt.Errorf("%w: score from %s", ErrMalformed, link.Name)
			default:
				partials[h] = sr.Values[0]
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return sigmoid(m.Score(g.data.X[row], partials)), nil
}
