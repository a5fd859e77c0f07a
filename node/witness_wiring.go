package node

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/ops"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/node/witness"
)

// Witnessing is the node's per-subject commitment (Committer: the subject
// map following the inquiry log, signed subject checkpoints, proofs for
// subjects) and its witness of peers' logs.
type Witnessing struct {
	Committer *subjectlog.Committer
	Witness   *witness.Witness

	cfg    config.WitnessConfig
	client *clientRef
	log    *slog.Logger
}

// clientRef lets the witness fetch through the node's peer client, which is
// built after the provider (whose member API serves the witness routes).
type clientRef struct{ c *peer.Client }

func (r *clientRef) Get(ctx context.Context, member, path string) ([]byte, error) {
	if r.c == nil {
		return nil, errors.New("node: peer client not ready")
	}
	return r.c.Get(ctx, member, path)
}

// openWitnessing builds the committer and witness. Without tamper-evident
// logs, a store that keeps the subject map (SQLite, PostgreSQL) or a
// deterministic signing key, it returns nil with a warning: subjects then
// get their log without a completeness proof.
func openWitnessing(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, backend Store, lg *Logs, w *registry.Watcher, metrics *ops.Metrics, logger *slog.Logger) (*Witnessing, error) {
	st, ok := backend.(subjectlog.Store)
	if lg == nil || !ok {
		logger.LogAttrs(ctx, slog.LevelWarn, "no subject commitments: the store cannot keep the subject map")
		return nil, nil
	}
	vrf, err := subjectlog.DeriveVRFKey(nk.Signer)
	if errors.Is(err, subjectlog.ErrNondeterministicSigner) {
		logger.LogAttrs(ctx, slog.LevelWarn, "no subject commitments: the signing key is not deterministic")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	signer, err := tlog.NewSigner(tlog.Origin(cfg.ID, store.LogInquiry), nk.Signer)
	if err != nil {
		return nil, err
	}
	members := witness.RegistryMembers{Current: w.Current, Self: cfg.ID}
	com, err := subjectlog.NewCommitter(subjectlog.CommitterOptions{
		Tree: lg.InquiryTree, Store: st, Signer: signer, VRF: vrf, Logger: logger,
		// The stored cosignatures of the kept checkpoints are verified
		// again at start-up under the keys the registry now lists for the
		// other members.
		Witnesses: func() note.Verifiers {
			return note.VerifierList(witness.CosignatureVerifiers(members, members.Peers()...)...)
		},
	})
	if err != nil {
		return nil, err
	}
	// Load the stored map and fold the leaves integrated since its last
	// revision (all of them on the first start).
	_, err = com.Advance(ctx)
	if errors.Is(err, subjectlog.ErrMapCorrupt) {
		logger.LogAttrs(ctx, slog.LevelError, "subject map corrupt in the store: rebuilding it from the inquiry log", slog.Any("err", err))
		_, err = com.Advance(ctx)
	}
	if err != nil {
		return nil, err
	}
	// The node's database (migration 0008) when it has the witness tables,
	// else files in the node directory.
	var state witness.State
	if ws, ok := backend.(witness.WitnessStore); ok {
		state = witness.StoreState{S: ws}
	} else if state, err = witness.NewFileState(filepath.Join(cfg.Dir, "witness")); err != nil {
		return nil, err
	}
	ref := &clientRef{}
	wit, err := witness.New(witness.Options{
		ID: cfg.ID, Key: nk.Signer, Members: members,
		Fetch: ref, State: state, Own: com, Alarms: newAlarmCounter(metrics, cfg.ID), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &Witnessing{Committer: com, Witness: wit, cfg: cfg.Witness, client: ref, log: logger}, nil
}

// prover is the provider's SubjectProofs (nil without commitments).
func (x *Witnessing) prover() server.SubjectProver {
	if x == nil {
		return nil
	}
	return x.Committer
}

// withRoutes adds the witness API to the member routes.
func (x *Witnessing) withRoutes(lg *Logs, routes map[string]http.Handler) map[string]http.Handler {
	if x == nil {
		return routes
	}
	if routes == nil {
		routes = map[string]http.Handler{}
	}
	h := witness.Handler(x.Witness, x.Committer, lg.InquiryTree)
	for _, pattern := range h.Patterns() {
		routes[pattern] = h
	}
	return routes
}

// setClient gives the witness the node's peer client.
func (x *Witnessing) setClient(c *peer.Client) {
	if x != nil {
		x.client.c = c
	}
}

// run keeps the map in step with the tree and polls peers until ctx ends.
func (x *Witnessing) run(ctx context.Context) {
	if x == nil {
		return
	}
	go x.Committer.Run(ctx, x.cfg.Commit(), func(err error) {
		x.log.LogAttrs(ctx, slog.LevelError, "subject map not advanced", slog.Any("err", err))
	})
	if !x.cfg.Disabled {
		go x.Witness.Run(ctx, x.cfg.Poll())
	}
}

// alarmCounter counts witness alarms on the node's Prometheus registry.
type alarmCounter struct{ c *prometheus.CounterVec }

func newAlarmCounter(m *ops.Metrics, nodeID string) witness.AlarmCounter {
	if m == nil {
		return nil
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "creditnode", Name: "witness_alarms_total", ConstLabels: prometheus.Labels{"node": nodeID},
		Help: "Inconsistencies seen in peers' logs (split_view, inconsistent, rollback, vrf_key_changed).",
	}, []string{"peer", "kind"})
	if err := m.Registry().Register(c); err != nil {
		return nil
	}
	return alarmCounter{c}
}

func (a alarmCounter) Inc(peer, kind string) { a.c.WithLabelValues(peer, kind).Inc() }
