package internalapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/schemas"
)

// FeedPuller pulls and applies one batch of a provider's change feed
// (*feeds.Subscriber).
type FeedPuller interface {
	Pull(ctx context.Context, provider, feed string) (feeds.Pulled, error)
}

var _ FeedPuller = (*feeds.Subscriber)(nil)

// FeedPullRequest is RouteFeedPull's body: the provider and the record
// category whose changes since this node's cursor are pulled.
type FeedPullRequest struct {
	Provider string `json:"provider"`
	Feed     string `json:"feed"`
}

func (s *Server) feedPullRoute() route[FeedPullRequest] {
	return route[FeedPullRequest]{
		op: OpFeeds, spends: true,
		parse: func(_ *http.Request, body []byte) (*FeedPullRequest, *schemas.Error) {
			if s.opts.Feeds == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node pulls no feeds through its internal API")
			}
			var q FeedPullRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed feed pull")
			}
			if q.Provider == "" || q.Feed == "" {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "provider and feed are required")
			}
			if !s.validator.Known(q.Feed) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "feed %q is not a record category", q.Feed)
			}
			return &q, nil
		},
		scope: func(q *FeedPullRequest) (string, []string) { return feeds.Purpose, []string{q.Provider} },
		run: func(_ context.Context, c *call, q *FeedPullRequest) (any, *schemas.Error) {
			job, err := s.jobs.start(c.client.Name, OpFeeds, "pulling", s.opts.Clock())
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "job status cannot be kept")
			}
			s.jobs.update(job, func(j *Job) { j.Provider, j.Feed = q.Provider, q.Feed })
			go s.runFeedPull(job, q.Provider, q.Feed)
			return s.jobs.snapshot(job), nil
		},
	}
}

// runFeedPull pulls batches until the provider has nothing more, as
// `creditnode feeds pull` does. Each batch is applied with its cursor in one
// transaction, so a pull cut short keeps the batches applied so far.
func (s *Server) runFeedPull(job *Job, provider, feed string) {
	ctx := context.Background()
	finish := func(f func(*Job)) { s.jobs.finish(job, s.opts.Clock(), f) }
	for {
		p, err := s.opts.Feeds.Pull(ctx, provider, feed)
		if err != nil {
			e := schemas.AsError(err, schemas.CodeInternal, "feed pull failed")
			s.log.LogAttrs(ctx, slog.LevelWarn, "feed pull failed", slog.String("job", job.ID), slog.String("provider", provider),
				slog.String("feed", feed), slog.String("code", string(e.Code)))
			finish(func(j *Job) { j.State, j.Code, j.Error = JobFailed, e.Code, e.Message })
			return
		}
		more := p.More
		s.jobs.update(job, func(j *Job) {
			j.Batches++
			j.Records += p.Records
			j.Removed += p.Removed
			j.Cursor = p.To
		})
		if !more {
			finish(func(j *Job) { j.State = JobDone })
			return
		}
	}
}
