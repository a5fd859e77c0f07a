package registry

import (
	"errors"
	"strings"
	"testing"
)

// A registrar's revoked subject certificates travel in its signed entry;
// only a registrar may list them, each once, each a valid id.
func TestRevokedSubjectCerts(t *testing.T) {
	f := newFederation(t)
	for i := range f.doc.Members {
		if f.doc.Members[i].ID == "dept-tax" { // the registrar
			f.doc.Members[i].RevokedSubjectCerts = []string{"cert-1", "cert-2"}
		}
	}
	reg, err := Verify(f.sign(t), f.public(), t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		registrar, id string
		want          bool
	}{{"dept-tax", "cert-1", true}, {"dept-tax", "cert-2", true}, {"dept-tax", "cert-3", false}, {"bank-a", "cert-1", false}, {"nobody", "cert-1", false}} {
		if got := reg.SubjectCertRevoked(c.registrar, c.id); got != c.want {
			t.Errorf("SubjectCertRevoked(%s, %s) = %v", c.registrar, c.id, got)
		}
	}
	if doc := reg.Doc(); len(doc.Members[2].RevokedSubjectCerts) != 2 {
		t.Fatalf("revocations lost in the document: %+v", doc.Members[2])
	}

	for name, c := range map[string]struct {
		member string
		ids    []string
		detail string
	}{
		"not a registrar": {"bank-a", []string{"cert-1"}, "not a registrar"},
		"repeated id":     {"dept-tax", []string{"cert-1", "cert-1"}, "repeated"},
		"invalid id":      {"dept-tax", []string{"cert 1\n"}, "invalid"},
	} {
		f := newFederation(t)
		for i := range f.doc.Members {
			if f.doc.Members[i].ID == c.member {
				f.doc.Members[i].RevokedSubjectCerts = c.ids
			}
		}
		if _, err := Sign(&f.doc, f.authority, f.kid); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.detail) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
