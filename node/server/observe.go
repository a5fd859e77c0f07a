package server

// QueryObserver is told the outcome of every query the provider answers:
// its wire code ("" when allowed), the code's HTTP status, and the purpose
// the request claimed ("" if it never got as far as a verified signature).
// The node's metrics implement it.
type QueryObserver interface {
	ObserveQuery(code string, status int, purpose string)
}

// observeQuery reports a's outcome to the configured observer, if any.
func (p *Provider) observeQuery(q *inquiry, a *Answer) {
	if p.opts.Observer == nil {
		return
	}
	var purpose string
	if q.claims != nil {
		purpose = q.claims.Purpose
	}
	if a.Err == nil {
		p.opts.Observer.ObserveQuery("", 200, purpose)
		return
	}
	p.opts.Observer.ObserveQuery(string(a.Err.Code), a.Err.Code.Status(), purpose)
}
