package server

import (
	"context"
	"log/slog"

	"github.com/creditexchange/node/schemas"
)

// SubjectProver proves that a subject's entries are all of its entries up
// to a signed, witnessed checkpoint (a *subjectlog.Committer).
type SubjectProver interface {
	// Prove returns the proof for subject's entries at the given log
	// indexes, preferring a checkpoint with at least minCosigs witness
	// cosignatures.
	Prove(ctx context.Context, subject string, indexes []uint64, minCosigs int) (*schemas.SubjectProof, error)
}

// subjectProofCosigs is how many cosignatures a subject's checkpoint should
// preferably carry (one: the subject can ask for more with --witnesses, and
// fails if they are missing).
const subjectProofCosigs = 1

// attachSubjectProof adds the completeness proof to out. Without one (no
// prover, or no checkpoint yet) the log is sent as before: a subject that
// requires the proof fails its verification visibly.
func (p *Provider) attachSubjectProof(ctx context.Context, out *schemas.SubjectLog) {
	if p.opts.SubjectProofs == nil {
		return
	}
	idx := make([]uint64, len(out.Entries))
	for i, e := range out.Entries {
		idx[i] = e.Index
	}
	proof, err := p.opts.SubjectProofs.Prove(ctx, out.Subject, idx, subjectProofCosigs)
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "subject log sent without completeness proof", slog.Any("err", err))
		return
	}
	out.Proof = proof
}
