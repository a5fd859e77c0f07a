package schemas_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/creditexchange/node/schemas"
)

type testClaims struct {
	ID       string `json:"jti"`
	Subject  string `json:"sub,omitempty"`
	IssuedAt int64  `json:"iat"`
	Nested   struct {
		Key string `json:"key"`
	} `json:"cnf"`
	List    []testItem        `json:"list,omitempty"`
	Ptr     *testItem         `json:"ptr,omitempty"`
	Map     map[string]string `json:"map,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Any     any               `json:"any,omitempty"`
	Ignored string            `json:"-"`
	Plain   string
	hidden  string // must not become an allowed name
	testEmbedded
}

type testItem struct {
	Name string `json:"name"`
}

type testEmbedded struct {
	Extra string `json:"extra,omitempty"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    error // nil: accepted; errAny: any error
	}{
		{"valid", `{"jti":"a","sub":"s","iat":1,"cnf":{"key":"k"},"Plain":"p","extra":"e"}`, nil},
		{"subset of the names", `{"jti":"a"}`, nil},
		{"trailing white space", "{\"jti\":\"a\"} \n\t", nil},
		{"nested values", `{"list":[{"name":"a"},{"name":"b"}],"ptr":{"name":"p"},"map":{"a":"1","b":"2"},"raw":{"x":[{"y":1e999}]},"any":{"k":1}}`, nil},
		{"duplicate name", `{"jti":"a","sub":"s","sub":"t"}`, schemas.ErrMemberName},
		{"duplicate name, same value", `{"jti":"a","jti":"a"}`, schemas.ErrMemberName},
		{"duplicate name, other case", `{"sub":"s","SUB":"t"}`, schemas.ErrMemberName},
		{"duplicate name, escaped", `{"sub":"s","\u0073ub":"t"}`, schemas.ErrMemberName},
		{"name in another case", `{"JTI":"a"}`, schemas.ErrMemberName},
		{"name folded by Unicode (long s)", "{\"\u017fub\":\"s\"}", schemas.ErrMemberName},
		{"untagged field in another case", `{"plain":"p"}`, schemas.ErrMemberName},
		{"promoted field in another case", `{"EXTRA":"e"}`, schemas.ErrMemberName},
		{"nested duplicate", `{"cnf":{"key":"k","key":"l"}}`, schemas.ErrMemberName},
		{"nested name in another case", `{"cnf":{"KEY":"k"}}`, schemas.ErrMemberName},
		{"duplicate in a list element", `{"list":[{"name":"a"},{"name":"b","name":"c"}]}`, schemas.ErrMemberName},
		{"case variant in a pointed-to struct", `{"ptr":{"Name":"p"}}`, schemas.ErrMemberName},
		{"map duplicate", `{"map":{"a":"1","a":"2"}}`, schemas.ErrMemberName},
		{"map case-folded duplicate", `{"map":{"a":"1","A":"2"}}`, schemas.ErrMemberName},
		{"raw duplicate", `{"raw":{"x":1,"x":2}}`, schemas.ErrMemberName},
		{"raw nested case-folded duplicate", `{"raw":[{"Op":1,"op":2}]}`, schemas.ErrMemberName},
		{"any case-folded duplicate", `{"any":{"Sub":1,"sUB":2}}`, schemas.ErrMemberName},
		{"unknown name", `{"jti":"a","admin":true}`, errAny},
		{"ignored field's name", `{"-":"x"}`, errAny},
		{"unexported field's name", `{"hidden":"x"}`, errAny},
		{"unknown nested name", `{"cnf":{"key":"k","other":1}}`, errAny},
		{"data after the object", `{"jti":"a"} {}`, schemas.ErrTrailingData},
		{"stray delimiter after the object", `{"jti":"a"}]`, schemas.ErrTrailingData},
		{"array", `[1]`, errAny},
		{"null", `null`, schemas.ErrNotObject},
		{"empty", ``, errAny},
		{"wrong type", `{"iat":"1"}`, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c testClaims
			err := schemas.DecodeStrict([]byte(tt.payload), &c)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == nil:
			case err == nil:
				t.Fatal("accepted")
			case tt.want != errAny && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestDecodeStrictOtherTargets(t *testing.T) {
	var m map[string]int
	if err := schemas.DecodeStrict([]byte(`{"a":1,"b":2}`), &m); err != nil || m["b"] != 2 {
		t.Fatalf("map: %v %v", m, err)
	}
	if err := schemas.DecodeStrict([]byte(`{"a":1,"A":2}`), &m); !errors.Is(err, schemas.ErrMemberName) {
		t.Fatalf("map with case-folded duplicate: %v", err)
	}
	var list []testItem
	if err := schemas.DecodeStrict([]byte(`[{"name":"a"},{"NAME":"b"}]`), &list); !errors.Is(err, schemas.ErrMemberName) {
		t.Fatalf("list: %v", err)
	}
	var raw json.RawMessage
	if err := schemas.DecodeStrict([]byte(`{"a":{"b":1,"b":2}}`), &raw); !errors.Is(err, schemas.ErrMemberName) {
		t.Fatalf("raw: %v", err)
	}
	for _, v := range []any{nil, testClaims{}, (*testClaims)(nil)} {
		if err := schemas.DecodeStrict([]byte(`{}`), v); !errors.Is(err, schemas.ErrNotObject) {
			t.Errorf("%T: error %v, want ErrNotObject", v, err)
		}
	}
}

func TestDecodeStrictFillsValue(t *testing.T) {
	var c testClaims
	if err := schemas.DecodeStrict([]byte(`{"jti":"a","sub":"s","iat":7,"cnf":{"key":"k"},"extra":"e"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "a" || c.Subject != "s" || c.IssuedAt != 7 || c.Nested.Key != "k" || c.Extra != "e" {
		t.Fatalf("decoded %+v", c)
	}
}

// FuzzDecodeStrict checks that no input panics, and that whatever is
// accepted has no name refused by the rule: a duplicate member added to an
// accepted object is refused.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"jti":"a"}`, `{"list":[{"name":"a"}],"map":{"a":"b"},"raw":{"x":1}}`, `{"jti":"a","JTI":"b"}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c testClaims
		if schemas.DecodeStrict(b, &c) != nil {
			return
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(b, &members) != nil || len(members) == 0 {
			return
		}
		rest := bytes.TrimLeft(b, " \t\r\n")[1:] // after the opening brace
		for name, v := range members {
			member, _ := json.Marshal(map[string]json.RawMessage{name: v})
			doubled := append(append(member[:len(member)-1:len(member)-1], ','), rest...)
			var again testClaims
			if err := schemas.DecodeStrict(doubled, &again); !errors.Is(err, schemas.ErrMemberName) {
				t.Fatalf("duplicate %q in %s not refused as a name: %v", name, doubled, err)
			}
		}
	})
}
