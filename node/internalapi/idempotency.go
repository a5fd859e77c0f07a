package internalapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// IdempotencyRetention is how long an answer is kept for retries. The
// answer to a query holds the provider's decrypted records, so it is kept
// no longer than a client's retries need; after it, a retry with the same
// key runs as a new request.
const IdempotencyRetention = 24 * time.Hour

// pruneEvery is how often Put removes expired answers.
const pruneEvery = time.Hour

// stored is a recorded answer to a POST made with an Idempotency-Key.
type stored struct {
	Created     time.Time `json:"created"`
	Operation   string    `json:"operation"`
	BodyDigest  string    `json:"body_digest"` // hex SHA-256 of the request body
	Status      int       `json:"status"`
	ContentType string    `json:"content_type"`
	Body        []byte    `json:"body"`
}

// Idempotency keeps the answers of POSTs that spend, by client and key, in
// files under the node directory (written atomically and synced), so a
// client retrying after a lost answer gets the same answer and spends
// nothing twice, across restarts too. A lock per key serialises concurrent
// retries of one key in this process.
//
// Answers expire after IdempotencyRetention: Get ignores them and Put
// removes them, at most once per pruneEvery.
type Idempotency struct {
	dir   string
	clock func() time.Time
	locks [64]sync.Mutex

	pruneMu   sync.Mutex
	lastPrune time.Time
}

// NewIdempotency keeps records under the node directory nodeDir; clock
// dates them.
func NewIdempotency(nodeDir string, clock func() time.Time) *Idempotency {
	return &Idempotency{dir: filepath.Join(nodeDir, Dir, idempotencyDir), clock: clock}
}

func (s *Idempotency) file(client, key string) (string, int) {
	sum := sha256.Sum256([]byte(client + "\x00" + key))
	return filepath.Join(s.dir, client, hex.EncodeToString(sum[:])+".json"), int(sum[0]) % len(s.locks)
}

// Lock holds the key's lock until unlock is called.
func (s *Idempotency) Lock(client, key string) (unlock func()) {
	_, i := s.file(client, key)
	s.locks[i].Lock()
	return s.locks[i].Unlock
}

// Get returns the answer recorded for client and key, if any.
func (s *Idempotency) Get(client, key string) (*stored, error) {
	p, _ := s.file(client, key)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st stored
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	if s.expired(st.Created) {
		return nil, nil
	}
	return &st, nil
}

func (s *Idempotency) expired(created time.Time) bool {
	return s.clock().Sub(created) > IdempotencyRetention
}

// Put records an answer for client and key.
func (s *Idempotency) Put(client, key string, st stored) error {
	p, _ := s.file(client, key)
	st.Created = s.clock().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := writeAtomic(p, b, 0o600); err != nil {
		return err
	}
	return s.pruneDue()
}

// pruneDue runs Prune if it has not run for pruneEvery.
func (s *Idempotency) pruneDue() error {
	s.pruneMu.Lock()
	due := s.clock().Sub(s.lastPrune) >= pruneEvery
	if due {
		s.lastPrune = s.clock()
	}
	s.pruneMu.Unlock()
	if !due {
		return nil
	}
	_, err := s.Prune()
	return err
}

// Prune removes every expired answer and returns how many it removed. A
// key whose answer is being read or written is skipped (under its lock).
func (s *Idempotency) Prune() (int, error) {
	names, err := filepath.Glob(filepath.Join(s.dir, "*", "*.json"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		var st struct {
			Created time.Time `json:"created"`
		}
		// An unreadable record (half written before a crash cannot be: the
		// writes are atomic) is kept for an operator to look at.
		if json.Unmarshal(b, &st) != nil || !s.expired(st.Created) {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, err
		}
		n++
	}
	return n, nil
}

func bodyDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
