package witness

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// RegistryMembers reads peers and keys from the registry in force.
type RegistryMembers struct {
	Current func() *registry.Registry
	Self    string
}

// Peers lists every member but Self, sorted.
func (m RegistryMembers) Peers() []string {
	var out []string
	for _, mem := range m.Current().Doc().Members {
		if mem.ID != m.Self {
			out = append(out, mem.ID)
		}
	}
	sort.Strings(out)
	return out
}

// SigningKeys returns id's registered signing keys.
func (m RegistryMembers) SigningKeys(id string) []ed25519.PublicKey {
	mem, ok := m.Current().Member(id)
	if !ok {
		return nil
	}
	ks, err := keys.ParseSigningJWKS(mem.SigningKeys)
	if err != nil {
		return nil
	}
	out := make([]ed25519.PublicKey, 0, len(ks))
	kids := make([]string, 0, len(ks))
	for kid := range ks {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	for _, kid := range kids {
		out = append(out, ks[kid])
	}
	return out
}

// VerifySubjectLog checks a subject's log offline (subjectlog.Verify)
// against the registry: the checkpoint must be signed by a key registered
// to the log's issuer, and cosigned by at least k other members.
func VerifySubjectLog(sl *schemas.SubjectLog, m Members, k int) (*subjectlog.Result, error) {
	var witnesses []string
	for _, id := range m.Peers() {
		if id != sl.Issuer {
			witnesses = append(witnesses, id)
		}
	}
	cos := CosignatureVerifiers(m, witnesses...)
	logVs := LogVerifiers(m, sl.Issuer)
	if len(logVs) == 0 {
		return nil, fmt.Errorf("witness: no registered key for %s", sl.Issuer)
	}
	var res *subjectlog.Result
	var err error
	for _, v := range logVs {
		res, err = subjectlog.Verify(sl, subjectlog.VerifyOptions{Log: v, Witnesses: cos, MinWitnesses: k})
		if !errors.Is(err, tlog.ErrUnknownKey) {
			break
		}
	}
	return res, err
}
