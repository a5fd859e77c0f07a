package joint

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// barrierConn answers a score request only once every host of the test has been asked, so a
// guest that asked its hosts one after another would time out.
type barrierConn struct {
	value   float64
	err     error
	arrived *sync.WaitGroup
	all     <-chan struct{}
}

func (c *barrierConn) Call(ctx context.Context, req Message) (Message, error) {
	if _, ok := req.(*ScoreRequest); !ok {
		return nil, errors.New("not a score request")
	}
	c.arrived.Done()
	select {
	case <-c.all:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return &ScoreResponse{Values: []float64{c.value}}, nil
}

// scoreFixture is a guest with one applicant and a model over hosts answering with values
// (NaN: a malformed answer) or errs.
func scoreFixture(t *testing.T, values []float64, errs []error) (*Guest, *Model, []HostLink, context.Context) {
	t.Helper()
	g, err := NewGuest(&Dataset{IDs: []string{"a", "b"}, Features: []string{"f"}, X: [][]float64{{1}, {3}}, Labels: []int{0, 1}}, GuestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{Job: "job-1", Intercept: 0.5, Features: []string{"f"}, Weights: []float64{2}, Mean: []float64{2}, Std: []float64{1}}
	var arrived sync.WaitGroup
	arrived.Add(len(values))
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	links := make([]HostLink, len(values))
	for i, v := range values {
		name := string(rune('p' + i))
		m.Hosts = append(m.Hosts, name)
		links[i] = HostLink{Name: name, Conn: &barrierConn{value: v, err: errs[i], arrived: &arrived, all: all}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return g, m, links, ctx
}

func TestScoreApplicantAsksHostsAtOnce(t *testing.T) {
	g, m, links, ctx := scoreFixture(t, []float64{0.25, -1, 0.5}, make([]error, 3))
	p, err := g.ScoreApplicant(ctx, m, links, "b")
	if err != nil {
		t.Fatal(err) // a sequential guest blocks on the first host until the deadline
	}
	// z = 0.5 + 2·(3−2)/1 + 0.25 − 1 + 0.5
	if want := sigmoid(2.25); math.Abs(p-want) > 1e-12 {
		t.Fatalf("p = %v, want %v", p, want)
	}
}

func TestScoreApplicantNamesEveryFailingHost(t *testing.T) {
	g, m, links, ctx := scoreFixture(t, []float64{0.25, math.NaN(), 0.5}, []error{nil, nil, errors.New("consent_missing")})
	_, err := g.ScoreApplicant(ctx, m, links, "b")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "score from q") || !strings.Contains(err.Error(), "score from r: consent_missing") {
		t.Fatalf("error %v: want the malformed host q and the refusing host r named", err)
	}
	if _, err := g.ScoreApplicant(ctx, m, links[:2], "b"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("too few hosts: %v", err)
	}
	if _, err := g.ScoreApplicant(ctx, m, links, "nobody"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("unknown applicant: %v", err)
	}
}
