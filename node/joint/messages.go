package joint

import (
	"encoding/json"
	"fmt"

	"github.com/creditexchange/node/schemas"
)

// Message is one protocol message. Every message the guest sends is a request the host answers
// with exactly one response message; Kind names the step, and is what a host writes in its
// inquiry log ("joint modelling job J, step S").
type Message interface {
	Kind() string
}

// Step names, one per message kind.
const (
	KindAlignRequest    = "align_request"
	KindAlignResponse   = "align_response"
	KindCohortRequest   = "cohort_request"
	KindCohortResponse  = "cohort_response"
	KindBinRequest      = "bin_request"
	KindBinResponse     = "bin_response"
	KindPartialRequest  = "partial_request"
	KindPartialResponse = "partial_response"
	KindGradientRequest = "gradient_request"
	KindGradientMasked  = "gradient_masked"
	KindUnmaskRequest   = "unmask_request"
	KindAck             = "ack"
	KindScoreRequest    = "score_request"
	KindScoreResponse   = "score_response"
)

// AlignRequest (guest → host) carries the ecdhpsi Request: the guest's identifiers blinded by
// its secret scalar b, shuffled.
type AlignRequest struct {
	Job     string `json:"job"`
	Request []byte `json:"request"` // ecdhpsi.Request binary encoding
}

// AlignResponse (host → guest) carries the ecdhpsi Response: the request elements blinded again
// by the host's scalar a (request order) and the host's own identifiers blinded by a, a·H(x),
// shuffled. The host remembers which of its rows each a·H(x) stands for.
type AlignResponse struct {
	Response []byte `json:"response"` // ecdhpsi.Response binary encoding
}

// TrainParams are the guest's choices for a job that the host must also apply.
type TrainParams struct {
	MaxBins      int     `json:"max_bins"`      // quantile bins per feature before merging
	LearningRate float64 `json:"learning_rate"` // gradient step
	L2           float64 `json:"l2"`            // ridge penalty on the weights
	// BatchSize, if positive, splits the cohort into n/BatchSize mini-batches of at least
	// BatchSize members (consecutive runs of the common order); gradient step t uses batch
	// t mod n/BatchSize. Zero (or at least the cohort size) is full-batch gradient descent. A
	// host refuses batches smaller than its HostOptions.MinCohort.
	BatchSize int `json:"batch_size,omitempty"`
}

// CohortRequest (guest → host) names the training cohort: host-blinded elements a·H(x) of
// members in the intersection, batch after batch (see TrainParams.BatchSize), each batch
// sorted by the elements' bytes, so that the order says nothing but which members share a
// batch. That order is the common order of every later per-member vector. It also carries the
// guest's Paillier public key.
type CohortRequest struct {
	Job       string      `json:"job"`
	PublicKey []byte      `json:"public_key"` // paillier binary public key
	Members   []byte      `json:"members"`    // concatenated 32-byte elements, strictly ascending within each batch
	Params    TrainParams `json:"params"`
}

// CohortResponse (host → guest) acknowledges the cohort.
type CohortResponse struct {
	Size int `json:"size"`
}

// BinRequest (guest → host): one Paillier ciphertext of each cohort member's label, E(y_i), in
// cohort order.
type BinRequest struct {
	Job    string   `json:"job"`
	Labels [][]byte `json:"labels"`
}

// BinnedFeature is one host feature's bins over the cohort: member counts (the host knows them:
// they are its own rows) and the encrypted sum of labels per bin, rerandomized.
type BinnedFeature struct {
	Name      string   `json:"name"`
	Counts    []int    `json:"counts"`
	EventSums [][]byte `json:"event_sums"`
}

// BinResponse (host → guest): per-bin counts and encrypted event sums, every bin holding at
// least the minimum cohort size.
type BinResponse struct {
	Features []BinnedFeature `json:"features"`
}

// PartialRequest (guest → host) asks for the host's partial linear predictor u_i = Σ_j w_j·x_ij
// for each member of step Iter's batch (the whole cohort in full-batch training).
type PartialRequest struct {
	Job  string `json:"job"`
	Iter int    `json:"iter"`
}

// PartialResponse (host → guest): one partial predictor per member of the batch, common order.
type PartialResponse struct {
	Iter   int       `json:"iter"`
	Values []float64 `json:"values"`
}

// GradientRequest (guest → host): encrypted residuals E(d_i), d_i = σ(z_i) − y_i, of the
// members of step Iter's batch in the common order, at fixed-point scale ResidualFracBits.
type GradientRequest struct {
	Job       string   `json:"job"`
	Iter      int      `json:"iter"`
	Residuals [][]byte `json:"residuals"`
}

// GradientMasked (host → guest): the masked gradients v_j = Σ_i d_i·x_ij + 2^B + r_j of the
// host's features j over the batch, with a fresh uniform mask r_j the host keeps, packed
// several to a ciphertext: ciphertext c holds Σ_t v_(c·k+t)·2^(t·s) for the slot width s and
// the k slots per ciphertext that packing() derives from the key size and the cohort size,
// each ciphertext rerandomized.
type GradientMasked struct {
	Iter   int      `json:"iter"`
	Masked [][]byte `json:"masked"`
}

// UnmaskRequest (guest → host): the decrypted and unpacked masked gradients v_j, one per host
// feature, as decimal integers.
type UnmaskRequest struct {
	Job    string   `json:"job"`
	Iter   int      `json:"iter"`
	Values []string `json:"values"`
}

// Ack is an empty response.
type Ack struct{}

// ScoreRequest (guest → host) asks for partial scores under the trained host weights: either of
// members named by host-blinded elements from this job's alignment (held-out evaluation), or of
// one applicant by identifier (inference; over the network this needs the applicant's
// authorisation and is logged).
type ScoreRequest struct {
	Job       string `json:"job"`
	Members   []byte `json:"members,omitempty"`
	Applicant string `json:"applicant,omitempty"`
}

// ScoreResponse (host → guest): one partial score per requested member.
type ScoreResponse struct {
	Values []float64 `json:"values"`
}

func (*AlignRequest) Kind() string    { return KindAlignRequest }
func (*AlignResponse) Kind() string   { return KindAlignResponse }
func (*CohortRequest) Kind() string   { return KindCohortRequest }
func (*CohortResponse) Kind() string  { return KindCohortResponse }
func (*BinRequest) Kind() string      { return KindBinRequest }
func (*BinResponse) Kind() string     { return KindBinResponse }
func (*PartialRequest) Kind() string  { return KindPartialRequest }
func (*PartialResponse) Kind() string { return KindPartialResponse }
func (*GradientRequest) Kind() string { return KindGradientRequest }
func (*GradientMasked) Kind() string  { return KindGradientMasked }
func (*UnmaskRequest) Kind() string   { return KindUnmaskRequest }
func (*Ack) Kind() string             { return KindAck }
func (*ScoreRequest) Kind() string    { return KindScoreRequest }
func (*ScoreResponse) Kind() string   { return KindScoreResponse }

// envelope is the wire form of a message.
type envelope struct {
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// maxMessageBytes bounds a decoded message (a 1M-member vector of 2048-bit ciphertexts is
// about 700 MB in base64; callers over the network should bound bodies far lower).
const maxMessageBytes = 1 << 30

// Marshal encodes a message with its kind.
func Marshal(m Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{Kind: m.Kind(), Body: body})
}

// Unmarshal decodes a message produced by Marshal, rejecting unknown kinds and unknown fields.
func Unmarshal(b []byte) (Message, error) {
	if len(b) > maxMessageBytes {
		return nil, fmt.Errorf("%w: message too large", ErrMalformed)
	}
	var env envelope
	if err := schemas.DecodeStrict(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	m := newMessage(env.Kind)
	if m == nil {
		return nil, fmt.Errorf("%w: unknown kind", ErrMalformed)
	}
	if err := schemas.DecodeStrict(env.Body, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return m, nil
}

func newMessage(kind string) Message {
	switch kind {
	case KindAlignRequest:
		return &AlignRequest{}
	case KindAlignResponse:
		return &AlignResponse{}
	case KindCohortRequest:
		return &CohortRequest{}
	case KindCohortResponse:
		return &CohortResponse{}
	case KindBinRequest:
		return &BinRequest{}
	case KindBinResponse:
		return &BinResponse{}
	case KindPartialRequest:
		return &PartialRequest{}
	case KindPartialResponse:
		return &PartialResponse{}
	case KindGradientRequest:
		return &GradientRequest{}
	case KindGradientMasked:
		return &GradientMasked{}
	case KindUnmaskRequest:
		return &UnmaskRequest{}
	case KindAck:
		return &Ack{}
	case KindScoreRequest:
		return &ScoreRequest{}
	case KindScoreResponse:
		return &ScoreResponse{}
	}
	return nil
}
