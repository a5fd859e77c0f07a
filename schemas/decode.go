package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
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
