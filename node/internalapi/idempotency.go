package internalapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// stored is a recorded answer to a POST made with an Idempotency-Key.
type stored struct {
	Operation   string `json:"operation"`
	BodyDigest  string `json:"body_digest"` // hex SHA-256 of the request body
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
}

// Idempotency keeps the answers of POSTs that spend, by client and key, in
// files under the node directory (written atomically and synced), so a
// client retrying after a lost answer gets the same answer and spends
// nothing twice, across restarts too. A lock per key serialises concurrent
// retries of one key in this process.
type Idempotency struct {
	dir   string
	locks [64]sync.Mutex
}

// NewIdempotency keeps records under the node directory nodeDir.
func NewIdempotency(nodeDir string) *Idempotency {
	return &Idempotency{dir: filepath.Join(nodeDir, Dir, idempotencyDir)}
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
	return &st, nil
}

// Put records an answer for client and key.
func (s *Idempotency) Put(client, key string, st stored) error {
	p, _ := s.file(client, key)
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(p, b, 0o600)
}

func bodyDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
