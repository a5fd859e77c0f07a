package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
)

func (a *app) benchCmd() *cobra.Command {
	var duration time.Duration
	var concurrency int
	var keep, storeURL, via string
	var rate float64
	cmd := &cobra.Command{
		Use:   "bench --duration 20s --concurrency N",
		Short: "Load-generate authorised queries between two nodes on loopback",
		Long: `bench builds a two-node federation (a bank and a tax department) in a temporary directory, starts the
provider as its own process, and sends authorised loan_approval queries from the bank with N concurrent
workers for the given duration. Every query is the full path: signed, mutual TLS, policy, durable log
append, projected, signed and encrypted answer, verified and decrypted, outbound log. It prints queries/s
and latency percentiles. --via internal also runs the bank as a server with its internal API and, after
the Go-client run, sends the same queries as an internal client (mutual TLS with a client certificate,
staff id, business reference and a fresh idempotency key per query), so both paths are measured in one run.

Besides the rate and latency it prints the CPU time per query of the provider process and of this
process (the requester and the load), read from the kernel's counters (/proc/PID/stat, getrusage) over
the measured window, warm-up excluded: on a shared machine the figure that moves least with other load.
It also measures, in the same run and on the same payloads, the floor of a query (at the provider: three
signature verifications, the policy decision, a signature and an encryption; at the requester: a
signature, a decryption and a verification) and prints each process's CPU time as a multiple of it.
--rate R sends an open loop instead of --concurrency workers: queries due at a fixed rate, each latency
measured from its intended send time (no coordinated omission), with p50, p99 and p99.9.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if via != "go" && via != "internal" {
				return fmt.Errorf("bench: --via is go or internal")
			}
			return a.runBench(cmd.Context(), duration, concurrency, rate, keep, storeURL, via == "internal")
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", 20*time.Second, "how long to send queries")
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "concurrent workers (closed loop)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "open loop: send this many queries/s on a fixed schedule, latency from each query's intended send time (0: closed loop with --concurrency)")
	cmd.Flags().StringVar(&keep, "keep", "", "build the network here and keep it")
	cmd.Flags().StringVar(&storeURL, "store", "", "the provider's store: a postgres:// URL (default: its own SQLite file)")
	cmd.Flags().StringVar(&via, "via", "go", "go: the node's Go client only; internal: the Go client, then the same load through the bank's internal API")
	return cmd
}

func (a *app) runBench(ctx context.Context, duration time.Duration, concurrency int, rate float64, keep, storeURL string, viaInternal bool) error {
	if concurrency < 1 || duration <= 0 || rate < 0 {
		return fmt.Errorf("bench: need --concurrency ≥ 1, a positive --duration and a --rate ≥ 0")
	}
	dir, cleanup, err := workDir(keep, "creditnode-bench-")
	if err != nil {
		return err
	}
	defer cleanup()
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	specs := demoSpecs()
	// The registrar certifies the subject; the bank and tax department exchange.
	net, err := devnet.Create(dir, specs)
	if err != nil {
		return err
	}
	smes, err := devnet.DemoSMEs(1)
	if err != nil {
		return err
	}
	if storeURL != "" {
		if err := net.SetStore("tax-dept", storeURL); err != nil {
			return err
		}
	}
	if err := net.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, time.Now())); err != nil {
		return err
	}
	opsURL, err := enableOps(net.NodeDir("tax-dept"))
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "provider.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	prov, err := net.StartQuiet(ctx, bin, "tax-dept", logFile)
	if err != nil {
		return err
	}
	defer prov.Stop()
	subj, err := net.EnrolSubject("market-reg", smes[0].USCC)
	if err != nil {
		return err
	}
	consentTok, _, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment", "social_insurance"}, []string{"tax-dept"}, 24*time.Hour, 1<<30)
	if err != nil {
		return err
	}
	var internal *benchClient
	if viaInternal {
		if internal, err = prepareInternalBench(net.NodeDir("bank-a")); err != nil {
			return err
		}
	}
	bank, err := node.Open(ctx, net.NodeDir("bank-a"), discardLogger())
	if err != nil {
		return err
	}
	defer bank.Close()
	q := peer.Query{Provider: "tax-dept", Subject: smes[0].USCC, Purpose: "loan_approval", Categories: []string{"tax_payment", "social_insurance"}, Consent: consentTok}
	warm, err := bank.Client.Query(ctx, q) // warm up: TLS session, prepared query
	if err != nil {
		return fmt.Errorf("bench: warm-up query failed: %w", err)
	}
	var levels map[string]string
	for _, s := range specs {
		if s.ID == q.Provider {
			levels = s.Catalog
		}
	}
	var fl floor
	if fl.provider, fl.requester, err = queryFloor(ctx, bank, q, levels, warm.Signed); err != nil {
		return err
	}

	spec := loadSpec{duration: duration, concurrency: concurrency, rate: rate, clocks: []cpuClock{
		{"tax-dept (provider process)", procCPU(prov.Cmd.Process.Pid)},
		{"bank-a (requester and load, this process)", selfCPU},
	}}
	if rate > 0 {
		fmt.Fprintf(a.out, "bench: open loop at %.0f queries/s for %s, bank-a → tax-dept (provider in its own process), loan_approval with consent\n", rate, duration)
	} else {
		fmt.Fprintf(a.out, "bench: %d workers for %s, bank-a → tax-dept (provider in its own process), loan_approval with consent\n", concurrency, duration)
	}
	run := func(load func() ([]time.Duration, error)) error {
		before, err := readDecisions(ctx, opsURL)
		if err != nil {
			return err
		}
		perQuery, err := load()
		if err != nil {
			return err
		}
		a.printRatio(fl, perQuery)
		after, err := readDecisions(ctx, opsURL)
		if err != nil {
			return err
		}
		d := after.since(before)
		fmt.Fprintf(a.out, "decision:  in the provider, p50 %s, p99 %s, p99.9 %s (%d decisions; histogram bucket bounds)\n",
			d.quantile(0.5), d.quantile(0.99), d.quantile(0.999), d.total)
		return nil
	}
	if err := run(func() ([]time.Duration, error) {
		return a.load(ctx, "go client", spec, func(ctx context.Context) error {
			_, err := bank.Client.Query(ctx, q)
			return err
		})
	}); err != nil || internal == nil {
		return err
	}
	return run(func() ([]time.Duration, error) { return internal.run(ctx, a, bank, spec, q) })
}

// loadSpec is how bench sends: concurrency closed-loop workers, or an open
// loop at rate queries/s.
type loadSpec struct {
	duration    time.Duration
	concurrency int
	rate        float64
	clocks      []cpuClock // the processes whose CPU time per query is printed
}

// maxInFlight bounds the open loop's outstanding queries; beyond it a query
// due is counted failed (the system is past saturation).
const maxInFlight = 4096

// load runs send as spec says and prints the rate, the latency percentiles
// and each process's CPU time per query under the label name. In the open
// loop each query has an intended send time on a fixed schedule and its
// latency counts from then, so a stalled server cannot hide its queue (no
// coordinated omission).
func (a *app) load(ctx context.Context, name string, spec loadSpec, send func(context.Context) error) ([]time.Duration, error) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	record := func(local []time.Duration) {
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	}
	fail := func(err error) {
		failures.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	cpu, err := startCPU(spec.clocks)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(spec.duration)
	if spec.rate > 0 {
		interval := time.Duration(float64(time.Second) / spec.rate)
		var inFlight atomic.Int64
		for i := 0; ctx.Err() == nil; i++ {
			intended := start.Add(time.Duration(i) * interval)
			if !intended.Before(deadline) {
				break
			}
			time.Sleep(time.Until(intended))
			if inFlight.Add(1) > maxInFlight {
				inFlight.Add(-1)
				fail(fmt.Errorf("more than %d queries outstanding", maxInFlight))
				continue
			}
			wg.Go(func() {
				defer inFlight.Add(-1)
				if err := send(ctx); err != nil {
					fail(err)
					return
				}
				record([]time.Duration{time.Since(intended)})
			})
		}
	} else {
		for w := 0; w < spec.concurrency; w++ {
			wg.Go(func() {
				var local []time.Duration
				for time.Now().Before(deadline) && ctx.Err() == nil {
					t0 := time.Now()
					if err := send(ctx); err != nil {
						fail(err)
						continue
					}
					local = append(local, time.Since(t0))
				}
				record(local)
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	n := len(latencies)
	if n == 0 {
		return nil, fmt.Errorf("bench: %s: no query succeeded (%v)", name, firstErr.Load())
	}
	perQuery, err := cpu.perQuery(n + int(failures.Load()))
	if err != nil {
		return nil, err
	}
	pct := func(p float64) time.Duration { return latencies[min(n-1, int(float64(n)*p))] }
	fmt.Fprintf(a.out, "[%s]\n", name)
	fmt.Fprintf(a.out, "queries:   %d ok, %d failed\n", n, failures.Load())
	fmt.Fprintf(a.out, "rate:      %.1f queries/s\n", float64(n)/elapsed.Seconds())
	if spec.rate > 0 {
		fmt.Fprintf(a.out, "latency:   p50 %s  p99 %s  p99.9 %s  max %s (open loop at %.0f/s, from each query's intended send time)\n",
			round(pct(0.50)), round(pct(0.99)), round(pct(0.999)), round(latencies[n-1]), spec.rate)
	} else {
		fmt.Fprintf(a.out, "latency:   p50 %s  p95 %s  p99 %s  max %s\n", round(pct(0.50)), round(pct(0.95)), round(pct(0.99)), round(latencies[n-1]))
	}
	var sum time.Duration
	for i, c := range spec.clocks {
		fmt.Fprintf(a.out, "cpu/query: %-42s %7.0f µs\n", c.name, float64(perQuery[i])/float64(time.Microsecond))
		sum += perQuery[i]
	}
	if len(spec.clocks) > 1 {
		fmt.Fprintf(a.out, "cpu/query: %-42s %7.0f µs\n", "sum", float64(sum)/float64(time.Microsecond))
	}
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(a.out, "first failure: %v\n", e)
	}
	return perQuery, nil
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
