package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/creditexchange/node/node/atomicfile"
)

// RevokedSubjectCertsFile, in a registrar's node directory, lists the ids
// of the subject certificates it revoked, one per line. `registry build`
// publishes them in the registrar's registry entry (MemberEntry), from
// where every node refuses them (consent.VerifySubjectCert).
const RevokedSubjectCertsFile = "revoked_subject_certs"

// RevokedSubjectCerts reads the registrar's revocations in dir (none if the
// file does not exist).
func RevokedSubjectCerts(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, RevokedSubjectCertsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if id := strings.TrimSpace(line); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// RevokeSubjectCert adds certID to the registrar's revocations in dir. It
// takes effect once the registry is rebuilt and signed.
func RevokeSubjectCert(dir, certID string) error {
	ids, err := RevokedSubjectCerts(dir)
	if err != nil {
		return err
	}
	if slices.Contains(ids, certID) {
		return nil
	}
	ids = append(ids, certID)
	path := filepath.Join(dir, RevokedSubjectCertsFile)
	return atomicfile.Write(path, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
}

// IssuedSubjectCertsFile, in a registrar's node directory, records the
// subject certificates it issued (JSON, a list of IssuedSubjectCert), so
// that `subject enrol` notices a subject certified again to another key.
const IssuedSubjectCertsFile = "issued_subject_certs.json"

// IssuedSubjectCert is the record of one certificate a registrar issued:
// ids and times only, never the subject's key itself.
type IssuedSubjectCert struct {
	ID       string `json:"id"`      // the certificate's jti
	Subject  string `json:"subject"` // normalised subject id
	KeyID    string `json:"kid"`     // thumbprint of the certified key
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

// IssuedSubjectCerts reads the registrar's record of issued certificates
// in dir (none if the file does not exist).
func IssuedSubjectCerts(dir string) ([]IssuedSubjectCert, error) {
	path := filepath.Join(dir, IssuedSubjectCertsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []IssuedSubjectCert
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// RecordIssuedSubjectCert adds c to the registrar's record in dir, written
// atomically (a temporary file renamed over the old one).
func RecordIssuedSubjectCert(dir string, c IssuedSubjectCert) error {
	certs, err := IssuedSubjectCerts(dir)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(append(certs, c), "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, IssuedSubjectCertsFile)
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}
