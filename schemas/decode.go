package schemas

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors returned by DecodeStrict besides those of encoding/json.
var (
	// ErrTrailingData: something follows the JSON value.
	ErrTrailingData = errors.New("data after the JSON value")
	// ErrNotObject: v is a pointer to a struct but the JSON value is not
	// an object (null included).
	ErrNotObject = errors.New("not a JSON object")
	// ErrMemberName: a member name is not exactly (case-sensitively) one of
	// the struct's JSON names, or appears twice in one object, or (in a map
	// or a free-form value) differs from another name of its object only by
	// case.
	ErrMemberName = errors.New("unexpected or duplicate member name")
)

// DecodeStrict decodes exactly one JSON value from b into v, a pointer. It
// is the one decoder of signed objects and wire messages, so that two
// readers never see one token differently: encoding/json alone matches
// member names case-insensitively and keeps the last of duplicate members.
//
// At every level of nesting, guided by v's type:
//   - an object decoded into a struct has member names that are exactly
//     its fields' JSON names (compared case-sensitively, promoted fields of
//     embedded structs included), each at most once; unknown names are
//     refused;
//   - an object decoded into a map, a json.RawMessage, an interface or a
//     type with its own UnmarshalJSON has no name twice and no two names
//     that differ only by case (Unicode simple case folding);
//   - nothing but white space follows the value;
//   - when v points to a struct, the value is an object (not null).
//
// Refusals of names wrap ErrMemberName; the value v may then be partly
// filled and must not be used.
func DecodeStrict(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: decode target is not a pointer", ErrNotObject)
	}
	t := shape(rv.Type().Elem())
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailingData
	}
	w := json.NewDecoder(bytes.NewReader(b))
	w.UseNumber()
	if t != nil && t.Kind() == reflect.Struct {
		if tok, _ := w.Token(); tok != json.Delim('{') {
			return ErrNotObject
		}
		return checkObject(w, t)
	}
	return checkValue(w, t)
}

// checkValue reads one value from dec and checks its member names against t
// (nil: a free-form value).
func checkValue(dec *json.Decoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = shape(t)
	switch d {
	case '{':
		return checkObject(dec, t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkValue(dec, elem); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return fmt.Errorf("unexpected %v", d)
}

// checkObject checks the members of an object whose '{' was read.
func checkObject(dec *json.Decoder, t reflect.Type) error {
	t = shape(t)
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = structFields(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		key := name
		if fields == nil {
			key = foldName(name)
		}
		if seen[key] {
			return fmt.Errorf("%w: %q", ErrMemberName, name)
		}
		seen[key] = true
		next := elem
		if fields != nil {
			ft, ok := fields[name]
			if !ok {
				return fmt.Errorf("%w: %q", ErrMemberName, name)
			}
			next = ft
		}
		if err := checkValue(dec, next); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shape is the type that says what names t's JSON may hold: t without
// pointers, or nil when t decodes free-form JSON (an interface, a
// json.RawMessage, its own UnmarshalJSON).
func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || t == rawMessageType ||
		reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType) {
		return nil
	}
	return t
}

// structFields maps the JSON names of struct type t to their field types,
// with the fields of untagged embedded structs promoted as encoding/json
// does (a shallower name hides a deeper one).
func structFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	depth := map[string]int{}
	var walk func(t reflect.Type, d int, visited []reflect.Type)
	walk = func(t reflect.Type, d int, visited []reflect.Type) {
		if slices.Contains(visited, t) {
			return
		}
		visited = append(visited, t)
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, d+1, visited)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if old, ok := depth[name]; !ok || d < old {
				fields[name], depth[name] = f.Type, d
			}
		}
	}
	walk(t, 0, nil)
	return fields
}

// foldName maps name to one representative of its case-folding orbit, so
// that names encoding/json would match to each other map to one key.
func foldName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == utf8.RuneError {
			b.WriteRune(r)
			continue
		}
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
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
