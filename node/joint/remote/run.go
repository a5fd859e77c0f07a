package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/schemas"
)

// Terms are a job's terms, as the guest proposes them to every host.
type Terms struct {
	ID         string
	Hosts      []string
	Categories map[string][]string // by host
	Label      string              // the label's definition
	Cohort     int                 // the largest training cohort (the guest's rows)
}

// NewJobID is a fresh job id: the time, for people, and 32 random bits, for
// uniqueness ("job-20260101-120000-1a2b3c4d").
func NewJobID(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "job-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// CancelTimeout bounds the cancellations RunJob sends after a run failed or was interrupted.
const CancelTimeout = 15 * time.Second

// jobHosts is what RunJob needs of a Client; a test drives runJob against hosts in its own
// process.
type jobHosts interface {
	Propose(ctx context.Context, host string, p Proposal) (*schemas.JointAnswer, error)
	Finish(ctx context.Context, host, job string) (*schemas.JointAnswer, error)
	Cancel(ctx context.Context, host, job string) (*schemas.JointAnswer, error)
	Conn(host, job string) joint.Conn
}

// clientHosts is a Client as jobHosts.
type clientHosts struct{ *Client }

func (c clientHosts) Conn(host, job string) joint.Conn { return c.Client.Conn(host, job) }

// RunJob proposes job to every host through c, trains g with them and tells them that the
// job is finished, so that they keep their part of the model. If a step fails or ctx ends
// (Ctrl-C) it cancels the job at every host that may hold it, which erases the job's state
// there; note reports each acceptance and cancellation. An interrupted run's error starts with
// "interrupted: " and wraps ctx's error.
func RunJob(ctx context.Context, c *Client, g *joint.Guest, job Terms, note func(string, ...any)) (*joint.Result, error) {
	return runJob(ctx, clientHosts{c}, g, job, note)
}

func runJob(ctx context.Context, hosts jobHosts, g *joint.Guest, job Terms, note func(string, ...any)) (*joint.Result, error) {
	var held []string // hosts that hold, or may hold, the job
	abort := func(err error) error {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
		defer cancel()
		errs := []error{err}
		for _, h := range held {
			_, cerr := hosts.Cancel(cctx, h, job.ID)
			switch {
			case cerr == nil:
				note("cancelled job %s at %s", job.ID, h)
			case answerCode(cerr) == schemas.CodeJobUnknown: // the proposal never arrived
			default:
				errs = append(errs, fmt.Errorf("could not cancel the job at %s: %w", h, cerr))
			}
		}
		return errors.Join(errs...)
	}
	for _, h := range job.Hosts {
		ans, err := hosts.Propose(ctx, h, Proposal{Job: job.ID, Categories: job.Categories[h], Label: job.Label,
			Cohort: job.Cohort, Hosts: job.Hosts})
		if err != nil {
			if !answeredByHost(err) {
				held = append(held, h)
			}
			if answerCode(err) == schemas.CodeConsentMissing {
				err = fmt.Errorf("%w (a job carries no member's consent: a host trains only on categories its policy "+
					"opens to joint_modeling without one, the public ones under the federation's policy)", err)
			}
			return nil, abort(fmt.Errorf("%s refused the job: %w", h, err))
		}
		held = append(held, h)
		note("%s accepted job %s for %s (decision %s)", h, job.ID, strings.Join(job.Categories[h], ","), ans.DecisionID)
	}
	links := make([]joint.HostLink, len(job.Hosts))
	for i, h := range job.Hosts {
		links[i] = joint.HostLink{Name: h, Conn: hosts.Conn(h, job.ID)}
	}
	res, err := g.Train(ctx, job.ID, links)
	if err != nil {
		return nil, abort(err)
	}
	for i, h := range job.Hosts {
		if _, err := hosts.Finish(ctx, h, job.ID); err != nil {
			held = job.Hosts[i:] // a finished job cannot be cancelled
			return nil, abort(fmt.Errorf("finish at %s: %w", h, err))
		}
	}
	return res, nil
}

// answeredByHost reports whether err is a host's own refusal, after which it holds no job.
// Without an answer (peer_unavailable, an interrupted request, an answer that does not open)
// or after log_unavailable (the host may have stored the job) the host may hold it.
func answeredByHost(err error) bool {
	switch answerCode(err) {
	case "", schemas.CodePeerUnavailable, schemas.CodePeerBadResponse, schemas.CodeLogUnavailable:
		return false
	}
	return true
}

// answerCode is the code of the first *schemas.Error in err's chain, or "" if there is none (no
// answer at all).
func answerCode(err error) schemas.Code {
	var e *schemas.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Run is RunJob through c.
func (c *Client) Run(ctx context.Context, g *joint.Guest, job Terms, note func(string, ...any)) (*joint.Result, error) {
	return RunJob(ctx, c, g, job, note)
}
