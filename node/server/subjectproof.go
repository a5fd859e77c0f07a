package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/schemas"
)

// SubjectProver proves that a subject's entries are all of its entries up
// to a signed, witnessed checkpoint (a *subjectlog.Committer).
type SubjectProver interface {
	// ProvePage returns the proof of one page of a subject's entries:
	// the checkpoint (r.At, or the one preferred for r.All with at least
	// r.MinCosigs witness cosignatures), the map proof of the subject's
	// whole chain, and the inclusion proofs of r.Page. It fails with
	// subjectlog.ErrNotKept if r.At is not kept.
	ProvePage(ctx context.Context, r subjectlog.PageProof) (*schemas.SubjectProof, error)
}

// subjectProofCosigs is how many cosignatures a subject's checkpoint should
// preferably carry (one: the subject can ask for more with --witnesses, and
// fails if they are missing).
const subjectProofCosigs = 1

// attachSubjectProof adds the completeness proof of out's page to out:
// against the checkpoint of size at (a walk's following page), or, at
// zero, the one preferred for all (the indexes of all the subject's
// entries). Without one (no prover, or no checkpoint yet) the log is sent
// as before: a subject that requires the proof fails its verification
// visibly. A pinned checkpoint no longer kept is refused bad_log_range: the
// subject starts its walk again.
func (p *Provider) attachSubjectProof(ctx context.Context, out *schemas.SubjectLog, all []uint64, at uint64) *schemas.Error {
	if p.opts.SubjectProofs == nil {
		return nil
	}
	idx := make([]uint64, len(out.Entries))
	for i, e := range out.Entries {
		idx[i] = e.Index
	}
	proof, err := p.opts.SubjectProofs.ProvePage(ctx, subjectlog.PageProof{Subject: out.Subject, All: all, Page: idx, At: at, MinCosigs: subjectProofCosigs})
	switch {
	case errors.Is(err, subjectlog.ErrNotKept):
		return schemas.Wrap(schemas.CodeBadLogRange, err, "the checkpoint this walk is pinned to is no longer kept; read again from the first page")
	case err != nil:
		p.log.LogAttrs(ctx, slog.LevelWarn, "subject log sent without completeness proof", slog.Any("err", err))
		return nil
	}
	out.Proof = proof
	if out.Page != nil {
		if cp, _, err := subjectlog.PeekCheckpoint([]byte(proof.Checkpoint)); err == nil {
			out.Page.Checkpoint = cp.Size
		}
	}
	return nil
}
