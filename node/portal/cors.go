package portal

import (
	"net/http"
	"slices"
)

// corsPaths are the subject routes a portal page may call on another
// member's public listener: reading one's log, reading one's own credit
// report and exercising one's rights.
// Nothing else on a public listener is open to another origin.
var corsPaths = []string{
	"/v1/subject/inquiries",
	"/v1/subject/report",
	"/v1/consent/revoke",
	"/v1/subject/objections",
	"/v1/subject/repairs",
	"/v1/subject/rights",
}

// CORS lets pages served by the federation's members call the subject
// routes of h across origins. The allow-list is the members' public
// endpoints in the registry in force (MemberOrigins of current): only a
// member's listener can serve a portal page with that origin. A preflight
// (OPTIONS) from an allowed origin to a subject route is answered here;
// any other request passes to h unchanged, with the CORS headers added when
// its origin is allowed, so a refusal (rate_limited, a wire error) stays
// readable by the page.
func CORS(h http.Handler, current func() Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		if o == "" || !slices.Contains(corsPaths, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		if !slices.Contains(currentOrigins(current), o) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", o)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") == http.MethodPost {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}
