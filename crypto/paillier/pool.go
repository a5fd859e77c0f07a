package paillier

import (
	"context"
	"errors"
	"math/big"
)

// ErrPoolSize: NewPool was given a capacity below 1 or above MaxPoolCapacity.
var ErrPoolSize = errors.New("paillier: pool capacity out of range")

// MaxPoolCapacity bounds the number of precomputed values a pool holds
// (at 2048 bits each takes 512 bytes).
const MaxPoolCapacity = 1 << 20

// Pool holds precomputed randomizers r^n mod n² for one public key, so that
// encrypting a value costs one multiplication modulo n² instead of an
// exponentiation (the dominant cost). Each randomizer is handed out once and
// dropped: reuse would let anyone who sees two ciphertexts learn the
// difference of their plaintexts. Randomizers are secret (r^n decrypts the
// ciphertext it made), live only in memory, and are never logged.
//
// Fill precomputes synchronously; Run refills in the background until its
// context ends, and may be started on several goroutines for several cores.
// When the pool is empty, Encrypt and Rerandomize compute a randomizer on
// demand, so a pool never blocks and never changes results, only speed.
// A Pool is safe for concurrent use.
type Pool struct {
	pk *PublicKey
	ch chan *big.Int
}

// NewPool returns an empty pool for pk holding up to capacity randomizers.
func NewPool(pk *PublicKey, capacity int) (*Pool, error) {
	if capacity < 1 || capacity > MaxPoolCapacity {
		return nil, ErrPoolSize
	}
	return &Pool{pk: pk, ch: make(chan *big.Int, capacity)}, nil
}

// Len returns the number of randomizers ready now.
func (p *Pool) Len() int { return len(p.ch) }

// Cap returns the capacity of the pool.
func (p *Pool) Cap() int { return cap(p.ch) }

// Fill precomputes randomizers until the pool holds at least n (capped at
// its capacity) or ctx ends.
func (p *Pool) Fill(ctx context.Context, n int) error {
	n = min(n, cap(p.ch))
	for len(p.ch) < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		rn, err := p.pk.randomizer()
		if err != nil {
			return err
		}
		select {
		case p.ch <- rn:
		default:
			return nil // full: other fillers got there first
		}
	}
	return nil
}

// Run keeps the pool full until ctx ends, then returns ctx.Err(). It blocks;
// start it with go, once per core to be used for refilling.
func (p *Pool) Run(ctx context.Context) error {
	for {
		rn, err := p.pk.randomizer()
		if err != nil {
			return err
		}
		select {
		case p.ch <- rn:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take returns a precomputed randomizer, or a fresh one if none is ready.
func (p *Pool) take() (*big.Int, error) {
	select {
	case rn := <-p.ch:
		return rn, nil
	default:
		return p.pk.randomizer()
	}
}

// PublicKey returns the key the pool is for.
func (p *Pool) PublicKey() *PublicKey { return p.pk }

// Encrypt is PublicKey.Encrypt using a precomputed randomizer.
func (p *Pool) Encrypt(m *big.Int) (*Ciphertext, error) {
	em, err := p.pk.encodePlaintext(m)
	if err != nil {
		return nil, err
	}
	rn, err := p.take()
	if err != nil {
		return nil, err
	}
	return p.pk.encryptWith(em, rn), nil
}

// Rerandomize is PublicKey.Rerandomize using a precomputed randomizer.
func (p *Pool) Rerandomize(ct *Ciphertext) (*Ciphertext, error) {
	if err := p.pk.check(ct); err != nil {
		return nil, err
	}
	rn, err := p.take()
	if err != nil {
		return nil, err
	}
	return p.pk.mulRandomizer(ct, rn), nil
}
