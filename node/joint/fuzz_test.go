package joint

import (
	"errors"
	"testing"
)

func FuzzUnmarshal(f *testing.F) {
	for _, m := range []Message{
		&AlignRequest{Job: "j", Request: []byte{0, 0, 0, 1}},
		&PartialResponse{Iter: 1, Values: []float64{0.5, -1}},
		&UnmaskRequest{Job: "j", Values: []string{"12"}},
		&BinResponse{Features: []BinnedFeature{{Name: "x", Counts: []int{3}, EventSums: [][]byte{{1}}}}},
	} {
		b, err := Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"partial_response","body":{"iter":0,"values":[NaN]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if _, err := Marshal(m); err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
	})
}

func TestUnmarshalStrict(t *testing.T) {
	for name, in := range map[string]string{
		"NaN":           `{"kind":"partial_response","body":{"iter":0,"values":[NaN]}}`,
		"unknown kind":  `{"kind":"labels_in_clear","body":{}}`,
		"unknown field": `{"kind":"partial_request","body":{"job":"j","iter":0,"labels":[1,0]}}`,
		"trailing":      `{"kind":"ack","body":{} {}}`,
	} {
		if _, err := Unmarshal([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
