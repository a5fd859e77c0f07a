package witness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creditexchange/node/node/atomicfile"
)

// ErrNoRecord is returned by State.Last before a peer's first checkpoint.
var ErrNoRecord = errors.New("witness: no checkpoint recorded for that peer")

// Record is the latest checkpoint a witness accepted from one peer.
type Record struct {
	Peer     string    `json:"peer"`
	Size     uint64    `json:"size"`
	Root     []byte    `json:"root"`
	MapRoot  []byte    `json:"map_root"`
	VRFKey   []byte    `json:"vrf_key"`
	Cosigned []byte    `json:"cosigned"` // the note with the peer's signature and this witness's cosignature
	SeenAt   time.Time `json:"seen_at"`
}

// Alarm is evidence that a peer's log misbehaved. It holds checkpoints and
// reasons, never log entries.
type Alarm struct {
	Time      time.Time `json:"time"`
	Peer      string    `json:"peer"`
	Kind      string    `json:"kind"` // AlarmSplitView, …
	Detail    string    `json:"detail"`
	Previous  string    `json:"previous,omitempty"`  // the note accepted before
	Offending string    `json:"offending,omitempty"` // the note refused
}

// Alarm kinds.
const (
	AlarmSplitView    = "split_view"      // same size, different root or map root
	AlarmInconsistent = "inconsistent"    // the consistency proof failed
	AlarmRollback     = "rollback"        // a smaller tree than one already cosigned
	AlarmVRFKey       = "vrf_key_changed" // subjects would move in the map
)

// FileState keeps witness state in a directory: one JSON file per peer
// (written to a temporary file, fsynced, then renamed over the old one, so a
// crash leaves the old or the new record) and an append-only alarms.jsonl
// (fsynced per alarm). It is safe for concurrent use within one process.
type FileState struct {
	dir string
	mu  sync.Mutex
}

// NewFileState uses dir, creating it if needed.
func NewFileState(dir string) (*FileState, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("witness: state directory: %w", err)
	}
	return &FileState{dir: dir}, nil
}

func (s *FileState) peerPath(peer string) (string, error) {
	if !validName(peer) || filepath.Base(peer) != peer || peer == "." || peer == ".." {
		return "", fmt.Errorf("witness: bad peer id %q", peer)
	}
	return filepath.Join(s.dir, "peer-"+peer+".json"), nil
}

// Last returns peer's latest record or ErrNoRecord.
func (s *FileState) Last(_ context.Context, peer string) (Record, error) {
	p, err := s.peerPath(peer)
	if err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, ErrNoRecord
	}
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("witness: state of %s: %w", peer, err)
	}
	return r, nil
}

// Save replaces peer's record durably.
func (s *FileState) Save(_ context.Context, r Record) error {
	p, err := s.peerPath(r.Peer)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return atomicfile.Write(p, b, 0o600)
}

// AddAlarm appends a to the alarm file durably.
func (s *FileState) AddAlarm(_ context.Context, a Alarm) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, "alarms.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Alarms returns every alarm raised, oldest first.
func (s *FileState) Alarms(_ context.Context) ([]Alarm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(s.dir, "alarms.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return []Alarm{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []Alarm{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a Alarm
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			continue // a torn last line after a crash
		}
		out = append(out, a)
	}
	return out, nil
}
