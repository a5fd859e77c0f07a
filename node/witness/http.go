package witness

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// OwnLog is this node's own log as its witnesses read it.
type OwnLog interface {
	// Latest is the newest signed subject checkpoint (a *subjectlog.Committer).
	Latest() ([]byte, error)
}

// Prover proves consistency of this node's inquiry tree (a *tlog.Tree).
type Prover interface {
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Handler serves the witness API, to be mounted on the member listener
// (mutual TLS: only registry members reach it): this node's checkpoint and
// consistency proofs for its witnesses, its cosignatures for the logs it
// witnesses, and its alarms. Nothing here holds log entries. The member
// listener registers each of the mux's patterns (Patterns) with the mux as
// handler, so that listener knows every witness route. Every error leaves
// through gate.WriteError, with the stable error body of the rest of the
// member API.
func Handler(w *Witness, own OwnLog, tree Prover) *gate.Mux {
	mux := gate.NewMux(w.log, 0)
	mux.HandleFunc("GET "+PathCheckpoint, func(rw http.ResponseWriter, r *http.Request) {
		text, err := own.Latest()
		if err != nil {
			writeErr(rw, w.log, r, schemas.Wrap(schemas.CodeNotFound, err, "no subject checkpoint yet"))
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(text)
	})
	mux.HandleFunc("GET "+PathConsistency, func(rw http.ResponseWriter, r *http.Request) {
		from, to, e := sizeParams(r, "from", "to")
		if e != nil {
			writeErr(rw, w.log, r, e)
			return
		}
		if from == 0 || from > to {
			writeErr(rw, w.log, r, schemas.Errorf(schemas.CodeBadLogRange, "no consistency proof from %d to %d", from, to))
			return
		}
		p, err := tree.ConsistencyProof(r.Context(), from, to)
		switch {
		case errors.Is(err, tlog.ErrBadRange):
			writeErr(rw, w.log, r, schemas.Wrap(schemas.CodeBadLogRange, err, "no proof for that range"))
			return
		case err != nil:
			writeErr(rw, w.log, r, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
			return
		}
		b, err := EncodeProof(p)
		if err != nil {
			writeErr(rw, w.log, r, schemas.Wrap(schemas.CodeInternal, err, "encode"))
			return
		}
		rw.Header().Set("Content-Type", schemas.ContentTypeJSON)
		rw.Write(b)
	})
	mux.HandleFunc("GET "+PathCosigned+"{peer}", func(rw http.ResponseWriter, r *http.Request) {
		text, err := w.Cosigned(r.Context(), r.PathValue("peer"))
		if err != nil {
			writeErr(rw, w.log, r, schemas.Wrap(schemas.CodeNotFound, err, "no cosigned checkpoint of that member"))
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(text)
	})
	mux.HandleFunc("GET "+PathAlarms, func(rw http.ResponseWriter, r *http.Request) {
		alarms, err := w.Alarms(r.Context())
		if err != nil {
			writeErr(rw, w.log, r, schemas.Wrap(schemas.CodeStoreUnavailable, err, "alarms unavailable"))
			return
		}
		rw.Header().Set("Content-Type", schemas.ContentTypeJSON)
		json.NewEncoder(rw).Encode(map[string]any{"count": len(alarms), "alarms": alarms})
	})
	return mux
}

// sizeParams reads two log sizes from the query, each given exactly once as
// a decimal number; otherwise bad_log_range, as the log proof endpoints of
// node/server answer.
func sizeParams(r *http.Request, a, b string) (uint64, uint64, *schemas.Error) {
	q := r.URL.Query()
	var out [2]uint64
	for i, name := range []string{a, b} {
		vs := q[name]
		if len(vs) != 1 {
			return 0, 0, schemas.Errorf(schemas.CodeBadLogRange, "want exactly one %q parameter", name)
		}
		v, err := strconv.ParseUint(vs[0], 10, 63)
		if err != nil {
			return 0, 0, schemas.Errorf(schemas.CodeBadLogRange, "%q is not a decimal number", name)
		}
		out[i] = v
	}
	return out[0], out[1], nil
}

var _ OwnLog = (*subjectlog.Committer)(nil)

func writeErr(rw http.ResponseWriter, log *slog.Logger, r *http.Request, e *schemas.Error) {
	gate.WriteError(rw, r, log, gate.Failure{Err: e})
}
