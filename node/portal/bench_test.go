package portal_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkPortalTimeline measures, in Chromium, the portal's page load
// (until the verifier is running and the registry verified) and, for a
// subject with N entries at one provider (market-reg, seeded through its
// sequencer), the time to walk the pages of its signed log with proofs
// (at most 1,000 entries a page, about 2.3 KB an entry) and to verify them
// together in WebAssembly; with the CPU time of this process (the nodes:
// proofs, signatures) and of the browser's processes over the read and
// verification, and the load average before and after. Run:
//
//	go test ./node/portal -run '^$' -bench PortalTimeline -benchtime 1x
func BenchmarkPortalTimeline(b *testing.B) {
	for _, n := range []int{10, 1000, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := startFed(b, 1)
			f.seed(b, "market-reg", f.subj.ID, n)
			f.commit(b, "market-reg")
			br := newBrowser(b)
			page := f.publicURL("bank-a") + "/portal/"
			b.ResetTimer()
			var load, fetch, verify, size, pages, nodeCPU, browserCPU, wall float64
			load1 := loadavg(b)
			for range b.N {
				run(b, br, "open the portal", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
				load += ms(b, attr(b, br, "body", "data-ready-ms"))
				if get(b, br, "key imported?", chromedp.Evaluate[bool](`document.getElementById('has-key').hidden`)) {
					importKey(b, br, f.subj)
				}
				li := `#providers li[data-provider="market-reg"]`
				self, kids, t0 := cpuSelf(b), cpuDescendants(b), time.Now()
				run(b, br, "read", chromedp.Click(chromedp.ID("read")), chromedp.WaitVisible(chromedp.CSS(li)))
				wall += float64(time.Since(t0).Milliseconds())
				nodeCPU += cpuSelf(b) - self
				browserCPU += cpuDescendants(b) - kids
				if st := attr(b, br, li, "data-state"); st != "verified" {
					b.Fatalf("market-reg %s: %s", st, text(b, br, li))
				}
				fetch += ms(b, attr(b, br, li, "data-fetch-ms"))
				verify += ms(b, attr(b, br, li, "data-verify-ms"))
				size += ms(b, attr(b, br, li, "data-bytes"))
				pages += ms(b, attr(b, br, li, "data-pages"))
			}
			N := float64(b.N)
			b.ReportMetric(load/N, "load-ms")
			b.ReportMetric(fetch/N, "fetch-ms")
			b.ReportMetric(verify/N, "verify-ms")
			b.ReportMetric(wall/N, "read-wall-ms")
			b.ReportMetric(nodeCPU/N, "nodes-cpu-ms")
			b.ReportMetric(browserCPU/N, "browser-cpu-ms")
			b.ReportMetric(size/N/1e6, "answer-MB")
			b.ReportMetric(pages/N, "pages")
			b.Logf("load average before %s, after %s", load1, loadavg(b))
		})
	}
}

func ms(b *testing.B, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.Fatalf("not a number: %q", s)
	}
	return v
}

// cpuSelf is this process's user and system CPU time so far, in ms.
func cpuSelf(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// cpuDescendants is the user and system CPU time so far of this process's
// running descendants (the browser's processes), in ms, from /proc (clock
// ticks of 10 ms).
func cpuDescendants(b *testing.B) float64 {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		b.Fatal(err)
	}
	parent := map[int]int{}
	ticks := map[int]float64{}
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')') // the command may hold spaces
		if i < 0 {
			continue
		}
		fs := strings.Fields(s[i+2:]) // state, ppid, …: utime and stime are fields 14 and 15 of the line
		if len(fs) < 13 {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:strings.IndexByte(s, ' ')]))
		ppid, _ := strconv.Atoi(fs[1])
		ut, _ := strconv.ParseFloat(fs[11], 64)
		st, _ := strconv.ParseFloat(fs[12], 64)
		parent[pid], ticks[pid] = ppid, ut+st
	}
	self := os.Getpid()
	var sum float64
	for pid, t := range ticks {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				sum += t
				break
			}
		}
	}
	return sum * 10
}

// loadavg is the 1, 5 and 15 minute load averages.
func loadavg(b *testing.B) string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Fatal(err)
	}
	fs := strings.Fields(string(raw))
	return strings.Join(fs[:3], " ")
}
