package internalapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// Job states.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is a long operation started through the internal API (a records
// import, a feed pull), visible to the client that started it. Jobs are
// kept in the node's memory: a restart forgets them (an import is all or
// nothing, so one cut short by a restart imported nothing; a feed pull keeps
// the batches applied with their cursor, and the next pull resumes there).
type Job struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	State     string    `json:"state"`
	Phase     string    `json:"phase"` // parsing, importing, pulling, finished
	Lines     int       `json:"lines"` // records parsed and valid so far (once parsed)
	Imported  int       `json:"imported"`
	BadLines  []BadLine `json:"bad_lines,omitempty"`
	// A feed pull's provider and feed, batches applied, records upserted
	// and withdrawn, and the cursor after the last applied batch.
	Provider string       `json:"provider,omitempty"`
	Feed     string       `json:"feed,omitempty"`
	Batches  int          `json:"batches,omitempty"`
	Records  int          `json:"records,omitempty"`
	Removed  int          `json:"removed,omitempty"`
	Cursor   uint64       `json:"cursor,omitempty"`
	Code     schemas.Code `json:"code,omitempty"` // a failed job's error code, where it has one
	Error    string       `json:"error,omitempty"`
	Started  time.Time    `json:"started"`
	Finished *time.Time   `json:"finished,omitempty"`
	client   string
}

// BadLine is a line of an import that failed validation.
type BadLine struct {
	Line   int    `json:"line"` // 1-based
	Reason string `json:"reason"`
}

// jobs is the table of jobs, by id.
type jobs struct {
	mu   sync.Mutex
	byID map[string]*Job
}

func (j *jobs) start(client, op string, now time.Time) *Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byID == nil {
		j.byID = map[string]*Job{}
	}
	job := &Job{ID: NewIdempotencyKey(), Operation: op, State: JobRunning, Phase: "parsing", Started: now.UTC(), client: client}
	j.byID[job.ID] = job
	return job
}

// update changes a job under the lock.
func (j *jobs) update(job *Job, f func(*Job)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(job)
}

// get returns a copy of the job if client started it.
func (j *jobs) get(client, id string) (Job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.byID[id]
	if !ok || job.client != client {
		return Job{}, false
	}
	return *job, true
}

// RecordsImportRequest is RouteRecordsImport's body: JSON Lines, one record
// per line, as `creditnode records import` reads a .jsonl file.
type RecordsImportRequest struct{ body []byte }

func (s *Server) recordsImportRoute() route[RecordsImportRequest] {
	return route[RecordsImportRequest]{
		op: OpImport, spends: true, maxBody: records.MaxFileBytes,
		parse: func(_ *http.Request, body []byte) (*RecordsImportRequest, *schemas.Error) {
			if s.opts.Records == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node imports no records through its internal API")
			}
			return &RecordsImportRequest{body: body}, nil
		},
		scope: noScope[RecordsImportRequest],
		run: func(_ context.Context, c *call, q *RecordsImportRequest) (any, *schemas.Error) {
			job := s.jobs.start(c.client.Name, OpImport, s.opts.Clock())
			go s.runImport(job, q.body)
			return job.snapshot(&s.jobs), nil
		},
	}
}

func (job *Job) snapshot(j *jobs) Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return *job
}

// runImport validates every line and imports all records in one
// transaction, or none: the same rule as the CLI.
func (s *Server) runImport(job *Job, body []byte) {
	ctx := context.Background()
	finish := func(f func(*Job)) {
		s.jobs.update(job, func(j *Job) {
			f(j)
			now := s.opts.Clock().UTC()
			j.Finished, j.Phase = &now, "finished"
		})
	}
	recs, bad, err := records.Parse(bytes.NewReader(body), records.FormatJSONL, s.validator)
	switch {
	case err != nil:
		finish(func(j *Job) { j.State, j.Error = JobFailed, err.Error() })
		return
	case len(bad) > 0:
		finish(func(j *Job) {
			j.State, j.Error = JobFailed, "bad lines: nothing imported"
			for _, l := range bad {
				j.BadLines = append(j.BadLines, BadLine{Line: l.Line, Reason: l.Reason})
			}
		})
		return
	}
	s.jobs.update(job, func(j *Job) { j.Phase, j.Lines = "importing", len(recs) })
	now := s.opts.Clock().UTC()
	for i := range recs {
		recs[i].UpdatedAt = now
	}
	if len(recs) > 0 {
		if err := s.opts.Records.ImportRecords(ctx, recs); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "records import failed", slog.String("job", job.ID), slog.Any("err", err))
			finish(func(j *Job) { j.State, j.Error = JobFailed, "the store refused the import: nothing imported" })
			return
		}
	}
	finish(func(j *Job) { j.State, j.Imported = JobDone, len(recs) })
}

// JobRequest names a job (RouteJob's path).
type JobRequest struct{ ID string }

func (s *Server) jobRoute() route[JobRequest] {
	return route[JobRequest]{
		op: OpImport, alsoOps: []string{OpFeeds},
		parse: func(r *http.Request, _ []byte) (*JobRequest, *schemas.Error) {
			return &JobRequest{ID: r.PathValue("id")}, nil
		},
		scope: noScope[JobRequest],
		run: func(_ context.Context, c *call, q *JobRequest) (any, *schemas.Error) {
			job, ok := s.jobs.get(c.client.Name, q.ID)
			if !ok {
				return nil, schemas.Errorf(schemas.CodeJobUnknown, "no such job for this client")
			}
			return job, nil
		},
	}
}
