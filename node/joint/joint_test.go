package joint

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/creditexchange/node/crypto/paillier"
)

// testKey is a small Paillier key, for tests only.
func testKey(t testing.TB) *paillier.PrivateKey {
	t.Helper()
	sk, err := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func testHostOptions() HostOptions {
	return HostOptions{MinCohort: 50, MinBin: 20, KeyOptions: paillier.Options{AllowInsecureSize: true}}
}

func readCSV(t testing.TB, path, label string) *Dataset {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ReadCSV(f, label)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wireLog records every encoded message.
type wireLog struct {
	mu   sync.Mutex
	msgs []observed
}

type observed struct {
	host string
	dir  Direction
	kind string
	wire []byte
}

func (w *wireLog) conn(name string, h Handler) Conn {
	return &LocalConn{Host: h, Observe: func(dir Direction, kind string, wire []byte) {
		w.mu.Lock()
		w.msgs = append(w.msgs, observed{name, dir, kind, append([]byte(nil), wire...)})
		w.mu.Unlock()
	}}
}

// pooled joins guest rows with every host's features by id.
func pooled(t testing.TB, guest *Dataset, hosts []*Dataset, rows []int) ([][]float64, []int) {
	t.Helper()
	idx := make([]map[string]int, len(hosts))
	for h, d := range hosts {
		idx[h] = d.index()
	}
	X := make([][]float64, len(rows))
	y := make([]int, len(rows))
	for k, r := range rows {
		X[k] = append([]float64(nil), guest.X[r]...)
		for h, d := range hosts {
			i, ok := idx[h][guest.IDs[r]]
			if !ok {
				t.Fatalf("row %d not at host %d", r, h)
			}
			X[k] = append(X[k], d.X[i]...)
		}
		y[k] = guest.Labels[r]
	}
	return X, y
}

type accuracy struct {
	joint, pooled, guestOnly float64
}

// compare trains jointly and plain on the same split and returns test AUCs.
func compare(t *testing.T, guest *Dataset, hosts []*Dataset, opts GuestOptions) (accuracy, *Result) {
	t.Helper()
	var links []HostLink
	for h, d := range hosts {
		host, err := NewHost(d, testHostOptions())
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, HostLink{Name: "host" + string(rune('A'+h)), Conn: &LocalConn{Host: host}})
	}
	g, err := NewGuest(guest, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Train(context.Background(), "job-acc", links)
	if err != nil {
		t.Fatal(err)
	}
	Xtr, ytr := pooled(t, guest, hosts, res.trainRows)
	Xte, yte := pooled(t, guest, hosts, res.testRows)
	plain := FitPlainLR(Xtr, ytr, 0.5, opts.Params.L2, 2000)
	scores := make([]float64, len(Xte))
	for i, x := range Xte {
		scores[i] = plain.Score(x)
	}
	nf := len(guest.Features)
	cut := func(X [][]float64) [][]float64 {
		out := make([][]float64, len(X))
		for i := range X {
			out[i] = X[i][:nf]
		}
		return out
	}
	gonly := FitPlainLR(cut(Xtr), ytr, 0.5, opts.Params.L2, 2000)
	gs := make([]float64, len(Xte))
	for i, x := range cut(Xte) {
		gs[i] = gonly.Score(x)
	}
	return accuracy{joint: res.TestAUC, pooled: AUC(yte, scores), guestOnly: AUC(yte, gs)}, res
}
