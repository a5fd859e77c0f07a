package joint

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/creditexchange/node/crypto/ecdhpsi"
	"github.com/creditexchange/node/crypto/paillier"
)

// SessionState is a host's state of one job in a form that can be stored and restored, so a
// host node can restart between steps (node/joint/remote keeps it in the node's store). It
// holds no secret of the guest; it holds what the host keeps in memory anyway: its own
// identifiers against the host-blinded elements it produced (not the blinding scalar, which is
// never encoded: after a restart the job accepts no new alignment, only the steps that follow),
// the cohort, its standardisation, its weights and, between a gradient and its unmasking, its
// masks. It is the host's own data: it stays in the host's store and is never sent or logged.
type SessionState struct {
	Stage    int               `json:"stage"`
	Elements map[string]string `json:"elements"` // hex host-blinded element → identifier
	Cohort   []string          `json:"cohort,omitempty"`
	Key      []byte            `json:"key,omitempty"` // the guest's Paillier public key
	Params   TrainParams       `json:"params"`
	Mean     []float64         `json:"mean,omitempty"`
	Std      []float64         `json:"std,omitempty"`
	Weights  []float64         `json:"weights,omitempty"`
	Iter     int               `json:"iter"`
	Masks    []string          `json:"masks,omitempty"` // decimal
	Bound    int               `json:"bound"`
}

// Session exports job's state.
func (h *Host) Session(job string) (*SessionState, error) {
	s, err := h.lockSession(job)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	st := &SessionState{Stage: int(s.stage), Elements: make(map[string]string, len(s.rows)), Params: s.params,
		Mean: slices.Clone(s.mean), Std: slices.Clone(s.std), Weights: slices.Clone(s.weights), Iter: s.iter, Bound: s.bound}
	for e, row := range s.rows {
		st.Elements[hex.EncodeToString(e[:])] = h.data.IDs[row]
	}
	for _, row := range s.cohort {
		st.Cohort = append(st.Cohort, h.data.IDs[row])
	}
	if s.pk != nil {
		b, err := s.pk.MarshalBinary()
		if err != nil {
			return nil, err
		}
		st.Key = b
	}
	for _, m := range s.masks {
		st.Masks = append(st.Masks, m.String())
	}
	return st, nil
}

// Restore installs a state exported by Session for job, against the same data set. It checks
// that every identifier is one of the host's and that the vectors fit its features.
func (h *Host) Restore(job string, st *SessionState) error {
	if job == "" || st == nil {
		return fmt.Errorf("%w: empty job or state", ErrData)
	}
	idx := h.data.index()
	s := &hostSession{stage: hostStage(st.Stage), rows: make(map[ecdhpsi.Element]int, len(st.Elements)),
		params: st.Params, iter: st.Iter, bound: st.Bound}
	if s.stage < stageAligned || s.stage > stageGradient {
		return fmt.Errorf("%w: stage", ErrData)
	}
	for eh, id := range st.Elements {
		b, err := hex.DecodeString(eh)
		row, ok := idx[id]
		if err != nil || len(b) != ecdhpsi.ElementSize || !ok {
			return fmt.Errorf("%w: element map", ErrData)
		}
		s.rows[ecdhpsi.Element(b)] = row
	}
	if s.stage == stageAligned {
		h.install(job, s)
		return nil
	}
	nf := len(h.data.Features)
	if len(st.Mean) != nf || len(st.Std) != nf || len(st.Weights) != nf || len(st.Cohort) == 0 {
		return fmt.Errorf("%w: state does not fit the host's features", ErrData)
	}
	for j := range nf {
		if !(st.Std[j] > 0) || math.IsInf(st.Std[j], 0) || math.IsNaN(st.Mean[j]) || math.IsNaN(st.Weights[j]) {
			return fmt.Errorf("%w: state values", ErrData)
		}
	}
	pk, err := paillier.ParsePublicKey(st.Key, h.opts.KeyOptions)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	s.pk, s.mean, s.std, s.weights = pk, slices.Clone(st.Mean), slices.Clone(st.Std), slices.Clone(st.Weights)
	for _, id := range st.Cohort {
		row, ok := idx[id]
		if !ok {
			return fmt.Errorf("%w: cohort member", ErrData)
		}
		s.cohort = append(s.cohort, row)
	}
	// The fixed-point features are derived, as in cohort(), from the rows and standardisation.
	maxBits, err := s.encodeFeatures(h.data.X)
	if err != nil {
		return err
	}
	if _, perCT := packing(pk.Bits(), len(s.cohort)); perCT < 1 || s.bound != gradientBits(len(s.cohort), maxBits) || s.params.BatchSize < 0 {
		return fmt.Errorf("%w: gradient bound or parameters", ErrData)
	}
	if s.stage == stageGradient {
		if len(st.Masks) != nf {
			return fmt.Errorf("%w: masks", ErrData)
		}
		for _, m := range st.Masks {
			v, ok := new(big.Int).SetString(m, 10)
			if !ok || v.Sign() < 0 {
				return fmt.Errorf("%w: masks", ErrData)
			}
			s.masks = append(s.masks, v)
		}
	}
	h.install(job, s)
	return nil
}

func (h *Host) install(job string, s *hostSession) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions[job] = s
}

// Identifiers returns the host's identifiers of the host-blinded elements b (concatenated, as
// in CohortRequest and ScoreRequest) in job; for the host's inquiry log.
func (h *Host) Identifiers(job string, b []byte) ([]string, error) {
	s, err := h.lockSession(job)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rows, err := parseMembers(s, b)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for k, r := range rows {
		out[k] = h.data.IDs[r]
	}
	return out, nil
}

// IDs returns the identifiers of the host's data set (every one of them is used, blinded, by
// an alignment).
func (h *Host) IDs() []string { return slices.Clone(h.data.IDs) }
