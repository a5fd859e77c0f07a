package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/aggregate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// Aggregate statistics over the member API.
const (
	RouteAggregate = "POST /v1/joint/aggregate"
	PathAggregate  = "/v1/joint/aggregate"
)

// AggregateStore keeps the privacy ledger and the answered query sets (node/store).
type AggregateStore interface {
	aggregate.AnswerStore
}

// AggregateOptions enable the aggregate route: the store of ledger and history, and each
// requester's total privacy budget at this host.
type AggregateOptions struct {
	Store AggregateStore
	Limit dpnoise.Budget
}

// aggregateStat answers one differentially private statistic. The policy decides as for a
// job proposal (purpose joint_modeling, the category, no consent); the host's aggregate rules
// (minimum query set, differencing, budget) then apply, with the ledger and the query-set
// history in the store. Every enterprise of the query set gets an inquiry-log entry, since its
// data enter the statistic.
func (s *Service) aggregateStat(ctx context.Context, reg gate.RegistryView, q *request, now time.Time) answer {
	c := q.claims
	a := c.Aggregate
	if s.opts.Aggregates == nil {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeNotFound, "this node answers no aggregate statistics"))
	}
	if c.Purpose != PurposeJointModeling {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodePurposeNotPermitted, "an aggregate's purpose is joint_modeling"))
	}
	if a == nil || a.Category == "" || (a.Feature != "" && !strings.HasPrefix(a.Feature, a.Category+".")) {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "an aggregate names a category and, but for counts, one of its features"))
	}
	q.step = "aggregate " + a.Kind
	c.Categories = []string{a.Category}
	res, err := s.opts.Policy.Decide(ctx, s.jobInput(reg, q.peer, c.Categories, now))
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated"))
	}
	q.job = &Job{ID: c.Job, Guest: q.peer, Categories: c.Categories, DecisionID: res.DecisionID, PolicyRevision: res.Revision}
	if !res.Allow {
		return s.deny(ctx, q, schemas.Errorf(res.WireCode(), "denied by policy: %s", strings.Join(res.Reasons, ", ")))
	}
	eps, ok1 := new(big.Rat).SetString(a.Epsilon)
	var delta *big.Rat
	ok2 := true
	if a.Delta != "" {
		delta, ok2 = new(big.Rat).SetString(a.Delta)
	}
	if !ok1 || !ok2 || len(a.Members) > 1_000_000 {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "epsilon and delta are rationals such as 1/10"))
	}
	data, err := s.opts.Data.JointData(ctx, c.Categories)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeCategoryUnknown, err, "no joint-modelling data for this category"))
	}
	var spent dpnoise.Budget
	eng, err := aggregate.New(data, aggregate.Options{MinCohort: s.opts.Host.MinCohort,
		Recorder: aggregate.StoredRecorder{Store: s.opts.Aggregates.Store, Dataset: a.Category, Limit: s.opts.Aggregates.Limit,
			Spent: func(total dpnoise.Budget) { spent = total }}})
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "aggregate engine"))
	}
	aq := aggregate.Query{Requester: q.peer, Kind: aggregate.Kind(a.Kind), Feature: a.Feature, Members: a.Members,
		Lo: a.Lo, Hi: a.Hi, Scale: a.Scale, Edges: a.Edges, Epsilon: eps, Delta: delta}
	out, err := s.answerAggregate(ctx, a.Category, eng, aq)
	switch {
	case errors.Is(err, aggregate.ErrBudgetExceeded):
		return s.deny(ctx, q, schemas.Wrap(schemas.CodePrivacyBudgetExceeded, err, "the privacy budget at this host is spent"))
	case errors.Is(err, aggregate.ErrCohortTooSmall), errors.Is(err, aggregate.ErrDifferencing):
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeQuerySetRefused, err, "query set refused: too small or too close to an earlier one"))
	case errors.Is(err, aggregate.ErrQuery):
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeMalformedRequest, err, "malformed aggregate query"))
	case err != nil:
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "aggregate failed"))
	}
	minCohort := s.opts.Host.MinCohort
	if minCohort <= 0 {
		minCohort = joint.DefaultMinCohort // as aggregate.New applies it
	}
	ans := schemas.JointAggregateResult{Value: out.Value, Bins: out.Bins, MinCohort: minCohort}
	if lim := s.opts.Aggregates.Limit.Epsilon; lim != nil && spent.Epsilon != nil {
		ans.EpsilonSpent = spent.Epsilon.RatString()
		ans.EpsilonLeft = new(big.Rat).Sub(lim, spent.Epsilon).RatString()
	}
	msg, err := json.Marshal(ans)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "encode answer"))
	}
	used := a.Members
	if len(used) == 0 {
		used = data.IDs
	} else {
		used = present(data.IDs, used)
	}
	q.job.State = "answered"
	return s.allow(ctx, reg, q, msg, store.Commit{}, used, now)
}

// answerAggregate answers aq under the dataset's lock, so that concurrent requests cannot
// both pass the differencing check before either records its query set.
func (s *Service) answerAggregate(ctx context.Context, dataset string, eng *aggregate.Engine, aq aggregate.Query) (*aggregate.Result, error) {
	unlock := s.lockDataset(dataset)
	defer unlock()
	return eng.Answer(ctx, aq)
}

// present is the members that are rows of ids, once each.
func present(ids, members []string) []string {
	have := make(map[string]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	var out []string
	for _, m := range members {
		if have[m] {
			out = append(out, m)
			delete(have, m)
		}
	}
	return out
}

// Aggregate asks host for one differentially private statistic of a study.
func (c *Client) Aggregate(ctx context.Context, host, study string, a schemas.JointAggregate) (*schemas.JointAggregateResult, error) {
	ans, err := c.call(ctx, host, PathAggregate, schemas.JointRequest{Op: schemas.JointOpAggregate, Job: study,
		Purpose: PurposeJointModeling, Categories: []string{a.Category}, Aggregate: &a})
	if err != nil {
		return nil, err
	}
	var out schemas.JointAggregateResult
	if err := schemas.DecodeStrict(ans.Message, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, fmt.Sprintf("aggregate answer from %s malformed", host))
	}
	return &out, nil
}
