package portal_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/creditexchange/node/node/peer"
)

// BenchmarkPortalTimeline measures, in Chromium, the portal's page load
// (until the verifier is running and the registry verified) and, for a
// subject with N entries at one provider (market-reg), the time to fetch
// its signed log with proofs and to verify it in WebAssembly. (With proofs
// an entry takes about 2.3 KB of the answer: from about 3,700 entries the
// signed log exceeds the 8 MiB token limit of crypto/jose and cannot be
// read, by the command line as by the browser; 10,000 fail so.) Run:
//
//	go test ./node/portal -run '^$' -bench PortalTimeline -benchtime 1x
func BenchmarkPortalTimeline(b *testing.B) {
	for _, n := range []int{10, 1000, 2000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := startFed(b, 1)
			ctx := context.Background()
			bank := f.nodes["bank-a"].Client
			q := peer.Query{Provider: "market-reg", Subject: f.smes[0].USCC, Purpose: "loan_approval", Categories: []string{"registration"}}
			var wg sync.WaitGroup
			jobs := make(chan struct{})
			for range 8 {
				wg.Go(func() {
					for range jobs {
						if _, err := bank.Query(ctx, q); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for range n {
				jobs <- struct{}{}
			}
			close(jobs)
			wg.Wait()
			f.commit(b, "market-reg")
			br := newBrowser(b)
			page := f.publicURL("bank-a") + "/portal/"
			b.ResetTimer()
			var load, fetch, verify, size float64
			for range b.N {
				run(b, br, "open the portal", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
				load += ms(b, attr(b, br, "body", "data-ready-ms"))
				if get(b, br, "key imported?", chromedp.Evaluate[bool](`document.getElementById('has-key').hidden`)) {
					importKey(b, br, f.subj)
				}
				li := `#providers li[data-provider="market-reg"]`
				run(b, br, "read", chromedp.Click(chromedp.ID("read")), chromedp.WaitVisible(chromedp.CSS(li)))
				if st := attr(b, br, li, "data-state"); st != "verified" {
					b.Fatalf("market-reg %s: %s", st, text(b, br, li))
				}
				fetch += ms(b, attr(b, br, li, "data-fetch-ms"))
				verify += ms(b, attr(b, br, li, "data-verify-ms"))
				size += ms(b, attr(b, br, li, "data-bytes"))
			}
			b.ReportMetric(load/float64(b.N), "load-ms")
			b.ReportMetric(fetch/float64(b.N), "fetch-ms")
			b.ReportMetric(verify/float64(b.N), "verify-ms")
			b.ReportMetric(size/float64(b.N)/1e6, "answer-MB")
		})
	}
}

func ms(b *testing.B, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.Fatalf("not a duration in ms: %q", s)
	}
	return v
}
