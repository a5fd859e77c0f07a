package internalapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/joint"

	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/schemas"
)

// JointGuest is what the joint operations need of the node's joint
// modelling client (*remote.Client): this node is the guest.
type JointGuest interface {
	Cancel(ctx context.Context, host, job string) (*schemas.JointAnswer, error)
	Status(ctx context.Context, host, job string) (*schemas.JointStatus, error)
	Run(ctx context.Context, g *joint.Guest, job remote.Terms, note func(string, ...any)) (*joint.Result, error)
	Score(ctx context.Context, g *joint.Guest, m *joint.Model, hostCategories map[string][]string, applicant string,
		consents []remote.Consent, reg consent.Registrars, skew time.Duration) (float64, error)
}

var _ JointGuest = (*remote.Client)(nil)

// maxJointHosts bounds the hosts of one status or cancel request.
const maxJointHosts = 64

// JointHostsRequest is the body of RouteJointStatus and RouteJointCancel: a
// joint modelling job this node proposed, and its hosts.
type JointHostsRequest struct {
	Job   string   `json:"job"`
	Hosts []string `json:"hosts"`
}

// JointHostsAnswer is each host's answer, in the order of the request.
type JointHostsAnswer struct {
	Job   string           `json:"job"`
	Hosts []JointHostState `json:"hosts"`
}

// JointHostState is one host's answer: the job's state there, or the code of
// its failure (job_unknown for a job it never accepted from this node).
type JointHostState struct {
	Host       string       `json:"host"`
	State      string       `json:"state,omitempty"`
	Iterations *int         `json:"iterations,omitempty"` // status only; absent once erased
	Updated    string       `json:"updated,omitempty"`    // status only
	Code       schemas.Code `json:"code,omitempty"`
	Message    string       `json:"message,omitempty"`
}

func (s *Server) jointHostsRoute(cancel bool) route[JointHostsRequest] {
	return route[JointHostsRequest]{
		op: OpJoint, spends: cancel,
		parse: func(_ *http.Request, body []byte) (*JointHostsRequest, *schemas.Error) {
			if s.opts.Joint == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node runs no joint modelling through its internal API")
			}
			var q JointHostsRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed joint job request")
			}
			if q.Job == "" || len(q.Job) > maxHeaderValue || !printable(q.Job) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "job must be a job id of at most %d printable characters", maxHeaderValue)
			}
			if len(q.Hosts) == 0 || len(q.Hosts) > maxJointHosts || !schemas.UniqueNames(q.Hosts) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "hosts must list 1 to %d unique member ids", maxJointHosts)
			}
			return &q, nil
		},
		scope: func(q *JointHostsRequest) (string, []string) { return remote.PurposeJointModeling, q.Hosts },
		run: func(ctx context.Context, _ *call, q *JointHostsRequest) (any, *schemas.Error) {
			ans := JointHostsAnswer{Job: q.Job, Hosts: make([]JointHostState, len(q.Hosts))}
			var wg sync.WaitGroup
			for i, h := range q.Hosts {
				wg.Go(func() {
					st := JointHostState{Host: h}
					var err error
					if cancel {
						var a *schemas.JointAnswer
						if a, err = s.opts.Joint.Cancel(ctx, h, q.Job); err == nil {
							st.State = a.State
						}
					} else {
						var js *schemas.JointStatus
						if js, err = s.opts.Joint.Status(ctx, h, q.Job); err == nil {
							st.State, st.Iterations, st.Updated = js.State, js.Iterations, js.Updated
						}
					}
					if err != nil {
						e := schemas.AsError(err, schemas.CodeInternal, "host did not answer")
						st.Code, st.Message = e.Code, e.Message
					}
					ans.Hosts[i] = st
				})
			}
			wg.Wait()
			return ans, nil
		},
	}
}
