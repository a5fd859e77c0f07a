package node

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
