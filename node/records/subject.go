package records

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

// PersonPrefix starts the id of a natural person.
const PersonPrefix = "person:"

// MaxPersonIDLen is the longest opaque part of a person id.
const MaxPersonIDLen = 64

// MaxRecordIDLen is the longest record id, in bytes.
const MaxRecordIDLen = 128

var (
	// ErrInvalidSubject is returned by NormalizeSubject. When the input was
	// taken for a USCC, the error also wraps the *uscc.Error saying which rule
	// failed.
	ErrInvalidSubject = errors.New("records: invalid subject")
	// ErrInvalidRecordID is returned by CheckRecordID.
	ErrInvalidRecordID = errors.New("records: invalid record id")
)

// NormalizeSubject validates a subject id and returns it in canonical form
// with its subject type (schemas.SubjectEnterprise or schemas.SubjectPerson).
//
// The rule, after trimming surrounding white space:
//   - "person:<opaque>" (prefix in any case, returned lower-case) is a natural
//     person. The opaque part is 1 to 64 characters of A-Z a-z 0-9 . _ ~ -
//     (URL-unreserved, so it needs no escaping in paths or logs) and is
//     case-sensitive. It should be a pseudonym issued by the registrar, never
//     a resident identity card number;
//   - anything else must be a USCC, normalised by uscc.Normalize.
//
// Errors match ErrInvalidSubject and never repeat the input.
func NormalizeSubject(s string) (id, subjectType string, err error) {
	s = strings.TrimSpace(s)
	if len(s) >= len(PersonPrefix) && strings.EqualFold(s[:len(PersonPrefix)], PersonPrefix) {
		opaque := s[len(PersonPrefix):]
		if err := checkPersonID(opaque); err != nil {
			return "", "", err
		}
		return PersonPrefix + opaque, schemas.SubjectPerson, nil
	}
	code, err := uscc.Normalize(s)
	if err != nil {
		return "", "", fmt.Errorf("%w: not %s<id> and not a USCC: %w", ErrInvalidSubject, PersonPrefix, err)
	}
	return code, schemas.SubjectEnterprise, nil
}

func checkPersonID(opaque string) error {
	if opaque == "" || len(opaque) > MaxPersonIDLen {
		return fmt.Errorf("%w: person id must be 1 to %d characters after %q", ErrInvalidSubject, MaxPersonIDLen, PersonPrefix)
	}
	for i := 0; i < len(opaque); i++ {
		if !unreserved(opaque[i]) {
			return fmt.Errorf("%w: person id character %d is not one of A-Z a-z 0-9 . _ ~ -", ErrInvalidSubject, len(PersonPrefix)+i+1)
		}
	}
	return nil
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return c == '.' || c == '_' || c == '~' || c == '-'
}

// CheckRecordID enforces the rule for a provider's record id: 1 to 128 bytes
// of valid UTF-8, only graphic characters (no control or bidi-override
// characters that could disguise the id in a log or a terminal), and no
// surrounding white space. Ids are kept exactly as given.
func CheckRecordID(id string) error {
	switch {
	case id == "" || len(id) > MaxRecordIDLen:
		return fmt.Errorf("%w: must be 1 to %d bytes", ErrInvalidRecordID, MaxRecordIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidRecordID)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("%w: surrounding white space", ErrInvalidRecordID)
	}
	for i, r := range id {
		if !unicode.IsGraphic(r) {
			return fmt.Errorf("%w: byte %d is not a graphic character", ErrInvalidRecordID, i+1)
		}
	}
	return nil
}
