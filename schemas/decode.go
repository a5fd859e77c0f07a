package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
)

// ErrTrailingData is returned by DecodeStrict when more follows the JSON value.
var ErrTrailingData = errors.New("trailing data")

// DecodeStrict decodes exactly one JSON value from b into v, refusing
// unknown fields and trailing data. Every parser of signed claims and wire
// messages uses it, so that two readers never see one token differently.
func DecodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return ErrTrailingData
	}
	return nil
}

// Errors returned by DecodeStrictClaims besides those of encoding/json.
var (
	// ErrClaimsNotObject: the payload is not one JSON object, or v is not a
	// pointer to a struct.
	ErrClaimsNotObject = errors.New("claims are not an object")
	// ErrClaimName: a member name is not one of v's JSON names (compared
	// case-sensitively) or appears twice.
	ErrClaimName = errors.New("unexpected or duplicate claim name")
	// ErrClaimsTrailingData: something follows the claims object.
	ErrClaimsTrailingData = errors.New("data after the claims object")
)

// DecodeStrictClaims decodes a signed token's payload into v, a pointer to a
// claims struct. The payload must be one JSON object each of whose member
// names is exactly (case-sensitively) one of v's JSON names and appears at
// most once, with nothing after it but white space. encoding/json alone
// matches names case-insensitively and keeps the last of duplicate members,
// so two readers of one signed payload could see different claims. Only the
// top-level members are checked by name (nested values are decoded with
// unknown fields refused), and the names are those of v's own fields: the
// promoted fields of an embedded struct would be refused.
func DecodeStrictClaims(payload []byte, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return ErrClaimsNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrClaimsTrailingData
	}
	allowed := jsonNames(t.Elem())
	dec = json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ErrClaimsNotObject
	}
	seen := make(map[string]bool, len(allowed))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if !allowed[name] || seen[name] {
			return ErrClaimName
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// jsonNames lists the JSON member names of a struct type's exported fields.
func jsonNames(t reflect.Type) map[string]bool {
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names
}

// UniqueNames reports whether xs holds no empty and no repeated names.
func UniqueNames(xs []string) bool {
	s := slices.Clone(xs)
	slices.Sort(s)
	for i, x := range s {
		if x == "" || (i > 0 && s[i-1] == x) {
			return false
		}
	}
	return true
}

// IsHexDigest reports whether s is a SHA-256 digest written as 64
// lower-case hex digits.
func IsHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
