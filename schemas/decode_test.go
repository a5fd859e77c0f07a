package schemas_test

import (
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
	Ignored string `json:"-"`
	Plain   string
	hidden  string // must not become an allowed name
}

func TestDecodeStrictClaims(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    error // nil: accepted; errAny: any error
	}{
		{"valid", `{"jti":"a","sub":"s","iat":1,"cnf":{"key":"k"},"Plain":"p"}`, nil},
		{"subset of the names", `{"jti":"a"}`, nil},
		{"trailing white space", "{\"jti\":\"a\"} \n\t", nil},
		{"duplicate name", `{"jti":"a","sub":"s","sub":"t"}`, schemas.ErrClaimName},
		{"duplicate name, same value", `{"jti":"a","jti":"a"}`, schemas.ErrClaimName},
		{"duplicate name, other case", `{"sub":"s","SUB":"t"}`, schemas.ErrClaimName},
		{"name in another case", `{"JTI":"a"}`, schemas.ErrClaimName},
		{"untagged field in another case", `{"plain":"p"}`, schemas.ErrClaimName},
		{"unknown name", `{"jti":"a","admin":true}`, errAny},
		{"ignored field's name", `{"-":"x"}`, errAny},
		{"unexported field's name", `{"hidden":"x"}`, errAny},
		{"unknown nested name", `{"cnf":{"key":"k","other":1}}`, errAny},
		{"data after the object", `{"jti":"a"} {}`, schemas.ErrClaimsTrailingData},
		{"stray delimiter after the object", `{"jti":"a"}]`, schemas.ErrClaimsTrailingData},
		{"array", `[1]`, errAny},
		{"null", `null`, schemas.ErrClaimsNotObject},
		{"empty", ``, errAny},
		{"wrong type", `{"iat":"1"}`, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c testClaims
			err := schemas.DecodeStrictClaims([]byte(tt.payload), &c)
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

func TestDecodeStrictClaimsNeedsStructPointer(t *testing.T) {
	var m map[string]any
	var s string
	for _, v := range []any{nil, &m, &s, testClaims{}} {
		if err := schemas.DecodeStrictClaims([]byte(`{}`), v); !errors.Is(err, schemas.ErrClaimsNotObject) {
			t.Errorf("%T: error %v, want ErrClaimsNotObject", v, err)
		}
	}
}

func TestDecodeStrictClaimsFillsValue(t *testing.T) {
	var c testClaims
	if err := schemas.DecodeStrictClaims([]byte(`{"jti":"a","sub":"s","iat":7,"cnf":{"key":"k"}}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "a" || c.Subject != "s" || c.IssuedAt != 7 || c.Nested.Key != "k" {
		t.Fatalf("decoded %+v", c)
	}
}
