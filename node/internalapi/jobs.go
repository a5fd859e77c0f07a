package internalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
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
// import, a feed pull, a joint modelling job), visible to the client that
// started it. Each job is kept in a file under the node directory
// (internal/jobs), written whenever its phase or state changes, so its
// status outlives a restart. A job that was running when the node stopped is
// failed at the next start (an import is all or nothing, so it imported
// nothing; a feed pull keeps the batches applied with their cursor, and the
// next pull resumes there; a joint job must be run again). Finished jobs are
// kept for JobRetention.
type Job struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	State     string    `json:"state"`
	Phase     string    `json:"phase"` // parsing, importing, pulling, training, finished
	Lines     int       `json:"lines"` // records parsed and valid so far (once parsed)
	Imported  int       `json:"imported"`
	BadLines  []BadLine `json:"bad_lines,omitempty"`
	// A feed pull's provider and feed, batches applied, records upserted
	// and withdrawn, and the cursor after the last applied batch.
	Provider string `json:"provider,omitempty"`
	Feed     string `json:"feed,omitempty"`
	Batches  int    `json:"batches,omitempty"`
	Records  int    `json:"records,omitempty"`
	Removed  int    `json:"removed,omitempty"`
	Cursor   uint64 `json:"cursor,omitempty"`
	// A joint modelling job's progress and, once done, its figures.
	Joint    *JointProgress `json:"joint,omitempty"`
	Code     schemas.Code   `json:"code,omitempty"` // a failed job's error code, where it has one
	Error    string         `json:"error,omitempty"`
	Started  time.Time      `json:"started"`
	Finished *time.Time     `json:"finished,omitempty"`
}

// BadLine is a line of an import that failed validation.
type BadLine struct {
	Line   int    `json:"line"` // 1-based
	Reason string `json:"reason"`
}

// JobRetention is how long a finished job's status is kept.
const JobRetention = 30 * 24 * time.Hour

// jobsDir is the folder of job files inside Dir.
const jobsDir = "jobs"

// jobFile is a job as kept on disk, with the client that started it.
type jobFile struct {
	Client string `json:"client"`
	Job    Job    `json:"job"`
}

// jobs is the table of jobs, by id, and their files.
type jobs struct {
	dir  string
	log  *slog.Logger
	mu   sync.Mutex
	byID map[string]*jobFile
}

// openJobs reads the job files in dir: a job that was running is failed
// (the node stopped under it) and finished jobs older than JobRetention are
// removed.
func openJobs(dir string, log *slog.Logger, now time.Time) (*jobs, error) {
	j := &jobs{dir: dir, log: log, byID: map[string]*jobFile{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var f jobFile
		if err := json.Unmarshal(b, &f); err != nil || f.Job.ID == "" || filepath.Base(name) != f.Job.ID+".json" {
			return nil, fmt.Errorf("internalapi: job file %s is unreadable", name)
		}
		if f.Job.Finished != nil && now.Sub(*f.Job.Finished) > JobRetention {
			if err := os.Remove(name); err != nil {
				return nil, err
			}
			continue
		}
		if f.Job.State == JobRunning {
			t := now.UTC()
			f.Job.State, f.Job.Phase, f.Job.Finished = JobFailed, "finished", &t
			f.Job.Code, f.Job.Error = schemas.CodeInternal, "the node stopped while the job ran; "+interruptedConsequence(f.Job.Operation)
			if err := j.write(&f); err != nil {
				return nil, err
			}
		}
		j.byID[f.Job.ID] = &f
	}
	return j, nil
}

// interruptedConsequence says what an interrupted job of operation op left.
func interruptedConsequence(op string) string {
	switch op {
	case OpImport:
		return "nothing was imported (all or nothing): send the records again"
	case OpFeeds:
		return "the batches applied so far are kept with their cursor: pull again to resume"
	case OpJoint:
		return "run the job again (the hosts erase an unfinished job's state when it is cancelled)"
	}
	return "run it again"
}

func (j *jobs) write(f *jobFile) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(j.dir, f.Job.ID+".json"), b, 0o600)
}

// persist writes f, logging a failure: the job goes on, and its status is
// still served from memory.
func (j *jobs) persist(f *jobFile) {
	if err := j.write(f); err != nil {
		j.log.LogAttrs(context.Background(), slog.LevelError, "job status not written", slog.String("job", f.Job.ID), slog.Any("err", err))
	}
}

// start records a new running job of client's.
func (j *jobs) start(client, op, phase string, now time.Time) (*Job, error) {
	f := &jobFile{Client: client, Job: Job{ID: NewIdempotencyKey(), Operation: op, State: JobRunning, Phase: phase, Started: now.UTC()}}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.write(f); err != nil {
		return nil, err
	}
	j.byID[f.Job.ID] = f
	return &f.Job, nil
}

// update changes a job under the lock and writes it.
func (j *jobs) update(job *Job, f func(*Job)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(job)
	j.persist(j.byID[job.ID])
}

// progress changes a job under the lock without writing it (frequent
// counters, such as training iterations).
func (j *jobs) progress(job *Job, f func(*Job)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(job)
}

// finish ends a job: f sets its state, and the job is stamped finished.
func (j *jobs) finish(job *Job, now time.Time, f func(*Job)) {
	j.update(job, func(jb *Job) {
		f(jb)
		t := now.UTC()
		jb.Finished, jb.Phase = &t, "finished"
	})
}

// get returns a copy of the job if client started it.
func (j *jobs) get(client, id string) (Job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, ok := j.byID[id]
	if !ok || f.Client != client {
		return Job{}, false
	}
	return f.Job, true
}

// snapshot is a copy of job.
func (j *jobs) snapshot(job *Job) Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return *job
}

// Content types of a records import.
const (
	ContentTypeJSONL = "application/jsonl"
	ContentTypeCSV   = "text/csv"
)

// RecordsImportRequest is RouteRecordsImport's body: JSON Lines, one record
// per line (Content-Type application/jsonl, the default), or CSV (text/csv),
// as `creditnode records import` reads a .jsonl or .csv file.
type RecordsImportRequest struct {
	body   []byte
	format records.Format
}

func (s *Server) recordsImportRoute() route[RecordsImportRequest] {
	return route[RecordsImportRequest]{
		op: OpImport, spends: true, maxBody: records.MaxFileBytes,
		parse: func(r *http.Request, body []byte) (*RecordsImportRequest, *schemas.Error) {
			if s.opts.Records == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node imports no records through its internal API")
			}
			q := &RecordsImportRequest{body: body, format: records.FormatJSONL}
			switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
			case "", ContentTypeJSONL, "application/x-ndjson":
			case ContentTypeCSV:
				q.format = records.FormatCSV
			default:
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "Content-Type must be %s or %s", ContentTypeJSONL, ContentTypeCSV)
			}
			return q, nil
		},
		scope: noScope[RecordsImportRequest],
		run: func(_ context.Context, c *call, q *RecordsImportRequest) (any, *schemas.Error) {
			job, err := s.jobs.start(c.client.Name, OpImport, "parsing", s.opts.Clock())
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "job status cannot be kept")
			}
			go s.runImport(job, q)
			return s.jobs.snapshot(job), nil
		},
	}
}

// runImport validates every line and imports all records in one
// transaction, or none: the same rule as the CLI.
func (s *Server) runImport(job *Job, q *RecordsImportRequest) {
	ctx := context.Background()
	finish := func(f func(*Job)) { s.jobs.finish(job, s.opts.Clock(), f) }
	recs, bad, err := records.Parse(bytes.NewReader(q.body), q.format, s.validator)
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
		op: OpImport, alsoOps: []string{OpFeeds, OpJoint},
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
