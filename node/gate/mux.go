package gate

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/creditexchange/node/schemas"
)

// Mux is an http.ServeMux that remembers the patterns registered on it, and
// answers a request no pattern matches with the not_found error body (never
// the standard library's plain-text 404).
type Mux struct {
	mux      *http.ServeMux
	patterns []string
	log      *slog.Logger
	maxBody  int64
}

// NewMux makes an empty Mux. Every request body it serves is limited to
// maxBody bytes (ReadBody then answers body_too_large); log receives
// server-side failures of WriteError.
func NewMux(log *slog.Logger, maxBody int64) *Mux {
	if log == nil {
		log = slog.Default()
	}
	m := &Mux{mux: http.NewServeMux(), log: log, maxBody: maxBody}
	m.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, m.log, Failure{Err: schemas.Errorf(schemas.CodeNotFound, "no such endpoint")})
	})
	return m
}

// Handle registers h for pattern ("METHOD /path", as http.ServeMux).
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

// HandleFunc registers f for pattern.
func (m *Mux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// Patterns lists the registered patterns, sorted.
func (m *Mux) Patterns() []string {
	p := slices.Clone(m.patterns)
	slices.Sort(p)
	return p
}

// ServeHTTP dispatches to the handler registered for r.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.maxBody > 0 && r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, m.maxBody)
	}
	m.mux.ServeHTTP(w, r)
}

// Routed is a handler that can list the route patterns it serves.
type Routed interface {
	http.Handler
	Patterns() []string
}

var _ Routed = (*Mux)(nil)
