package node

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/ops"
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

	cfg config.WitnessConfig
	log *slog.Logger
}

// openWitnessing builds the committer and the witness, which fetches peers'
// checkpoints through fetch (the node's peer client). Without a
// deterministic signing key (the VRF key is derived from it) it returns nil
// with a warning: subjects then get their log without a completeness proof.
// progress (nil: none) is told how far the subject map's catch-up has got.
func openWitnessing(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, st Store, lg *Logs, w *registry.Watcher,
	fetch witness.Fetcher, metrics *ops.Metrics, logger *slog.Logger, progress subjectlog.Progress) (*Witnessing, error) {
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
		// A checkpoint superseded within two poll intervals (the peers',
		// taken to be this node's) may still get the cosignatures peers
		// made of it; the most witnessed ones stay until newer ones are as
		// witnessed.
		Retention: subjectlog.Retention{Window: subjectlog.RetentionWindow(cfg.Witness.Poll())},
		// Subjects are answered against a checkpoint every other member
		// cosigned, when one is kept: a subject may require all of them.
		Quorum: func() int { return len(members.Peers()) },
	})
	if err != nil {
		return nil, err
	}
	// Load the stored map and fold the leaves integrated since its last
	// revision (all of them on the first start).
	_, err = com.AdvanceWithProgress(ctx, progress)
	if errors.Is(err, subjectlog.ErrMapCorrupt) {
		logger.LogAttrs(ctx, slog.LevelError, "subject map corrupt in the store: rebuilding it from the inquiry log", slog.Any("err", err))
		_, err = com.AdvanceWithProgress(ctx, progress)
	}
	if err != nil {
		return nil, err
	}
	wit, err := witness.New(witness.Options{
		ID: cfg.ID, Key: nk.Signer, Members: members, Fetch: fetch,
		State: witness.StoreState{S: st}, // the witness tables of the node's database (migration 0008)
		Own:   com, Alarms: newAlarmCounter(metrics, cfg.ID), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &Witnessing{Committer: com, Witness: wit, cfg: cfg.Witness, log: logger}, nil
}

// prover is the provider's SubjectProofs (nil without commitments).
func (x *Witnessing) prover() server.SubjectProver {
	if x == nil {
		return nil
	}
	return x.Committer
}

// addRoutes adds the witness API to the member routes, each of its routes
// registered on its own (so the member listener knows every pattern).
func (x *Witnessing) addRoutes(lg *Logs, routes map[string]http.Handler) {
	if x != nil {
		h := witness.Handler(x.Witness, x.Committer, lg.InquiryTree)
		for _, pattern := range h.Patterns() {
			routes[pattern] = h
		}
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
