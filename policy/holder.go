package policy

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrNoEngine is returned by Holder.Decide before any engine is set.
var ErrNoEngine = errors.New("policy: no engine loaded")

// Holder holds the engine in force and swaps it atomically when a new policy
// is loaded. Each decision is made entirely by one engine: Decide loads the
// pointer once, so a swap during a request affects only later requests. It
// is safe for concurrent use; the zero value holds no engine.
type Holder struct {
	cur atomic.Pointer[Engine]
}

// NewHolder returns a holder with e in force.
func NewHolder(e *Engine) *Holder {
	h := &Holder{}
	h.cur.Store(e)
	return h
}

// Engine returns the engine in force, or nil.
func (h *Holder) Engine() *Engine { return h.cur.Load() }

// Swap puts e in force and returns the engine it replaces. A nil e is
// ignored: a holder never goes back to having no policy.
func (h *Holder) Swap(e *Engine) *Engine {
	if e == nil {
		return h.cur.Load()
	}
	return h.cur.Swap(e)
}

// Decide evaluates in on the engine in force.
func (h *Holder) Decide(ctx context.Context, in Input) (Result, error) {
	e := h.cur.Load()
	if e == nil {
		return Result{}, ErrNoEngine
	}
	return e.Decide(ctx, in)
}

// Revision returns the revision in force, or "".
func (h *Holder) Revision() string {
	if e := h.cur.Load(); e != nil {
		return e.Revision()
	}
	return ""
}
