package schemas

// Joint modelling jobs over the member API (node/joint/remote).
const (
	TypJointRequest = "cx-joint-request+jws" // guest → host: propose, step, finish, cancel or ask the status of a job
	TypJointAnswer  = "cx-joint-answer+jws"  // host → guest: the answer, signed, then encrypted to the guest

	// KindJointModeling is the inquiry-log entry of a joint modelling request or of one
	// enterprise's data used by it; its Outcome reads "joint modelling job J, step S".
	KindJointModeling = "joint_modeling"
)

// Operations of a joint request; each has its own route and the signed op must match it.
const (
	JointOpPropose = "propose"
	JointOpStep    = "step"
	JointOpFinish  = "finish"
	JointOpCancel  = "cancel"
	// JointOpStatus asks where a job stands; only the guest that proposed it gets an answer.
	JointOpStatus = "status"
	// JointOpAggregate asks for one differentially private statistic (node/joint/aggregate);
	// its Job names the guest's study.
	JointOpAggregate = "aggregate"
)

// Joint job states, as the host stores them.
const (
	JobProposed  = "proposed"
	JobAligned   = "aligned"
	JobBinned    = "binned"
	JobTraining  = "training"
	JobDone      = "done"
	JobCancelled = "cancelled"
	JobFailed    = "failed"
)

// JointRequest is the claims of a TypJointRequest. Propose carries the job's terms; Step one
// protocol message of node/joint in its wire encoding (and, to score an applicant, the
// applicant's consent); Finish, Cancel and Status only the job id.
type JointRequest struct {
	ID       string `json:"jti"`
	IssuedAt int64  `json:"iat"`
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Op       string `json:"op"`
	Job      string `json:"job"`

	// Propose.
	Purpose    string   `json:"purpose,omitempty"`    // must be joint_modeling
	Categories []string `json:"categories,omitempty"` // the host's categories the job may use
	Label      string   `json:"label,omitempty"`      // the guest's label definition, as text
	Cohort     int      `json:"cohort,omitempty"`     // the guest's expected cohort size
	Hosts      []string `json:"hosts,omitempty"`      // every host of the job

	// Step.
	Message []byte `json:"message,omitempty"` // joint.Marshal of the protocol message
	Consent string `json:"consent,omitempty"` // compact consent JWS of a scored applicant

	// Aggregate.
	Aggregate *JointAggregate `json:"aggregate,omitempty"`
}

// JointAggregate is one aggregate statistic over a host's joint-modelling data of one
// category, answered with differential privacy.
type JointAggregate struct {
	Kind     string    `json:"kind"` // count, sum, mean, histogram
	Category string    `json:"category"`
	Feature  string    `json:"feature,omitempty"` // CATEGORY.NAME; not for count
	Members  []string  `json:"members,omitempty"` // the query set; empty means every record
	Lo       float64   `json:"lo,omitempty"`
	Hi       float64   `json:"hi,omitempty"`
	Scale    int64     `json:"scale,omitempty"`
	Edges    []float64 `json:"edges,omitempty"`
	Epsilon  string    `json:"epsilon"`         // exact rational, e.g. "1/10"
	Delta    string    `json:"delta,omitempty"` // if set, Gaussian noise
}

// JointAggregateResult is the Message of the answer to an aggregate request.
type JointAggregateResult struct {
	Value float64 `json:"value"`
	Bins  []int64 `json:"bins,omitempty"`
	// The host's terms, for the requester: the smallest query set it answers, and the ε the
	// requester has spent at this host with this answer and has left there (exact rationals).
	MinCohort    int    `json:"min_cohort,omitempty"`
	EpsilonSpent string `json:"epsilon_spent,omitempty"`
	EpsilonLeft  string `json:"epsilon_left,omitempty"`
}

// JointStatus is the Message of the answer to a status request: where the job stands at the
// host. It carries the job's terms as the guest proposed them and the host's progress, never
// records, features, aggregates or the cohort.
type JointStatus struct {
	Job        string   `json:"job"`
	Guest      string   `json:"guest"` // the member that proposed the job (the requester)
	State      string   `json:"state"` // Job*
	Categories []string `json:"categories"`
	Cohort     int      `json:"cohort"` // the cohort size the guest proposed
	Hosts      []string `json:"hosts"`  // every host of the job, as proposed
	// Iterations is the number of regression iterations the host has completed; absent once
	// the job's state is erased (cancelled, failed).
	Iterations *int   `json:"iterations,omitempty"`
	Created    string `json:"created"` // RFC 3339, UTC
	Updated    string `json:"updated"` // RFC 3339, UTC: the last change of state
}

// JointAnswer is the claims of a TypJointAnswer.
type JointAnswer struct {
	RequestID string `json:"request_id"`
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	Job       string `json:"job"`
	State     string `json:"state"`

	DecisionID     string `json:"decision_id,omitempty"`     // propose: the policy decision
	PolicyRevision string `json:"policy_revision,omitempty"` // propose
	Message        []byte `json:"message,omitempty"`         // step: the host's protocol message; aggregate, status: JSON
	LogIndex       uint64 `json:"log_index"`                 // the host's inquiry-log entry of the request
}
