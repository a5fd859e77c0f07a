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
	cmd := &cobra.Command{
		Use:   "bench --duration 20s --concurrency N",
		Short: "Load-generate authorised queries between two nodes on loopback",
		Long: `bench builds a two-node federation (a bank and a tax department) in a temporary directory, starts the
provider as its own process, and sends authorised loan_approval queries from the bank with N concurrent
workers for the given duration. Every query is the full path: signed, mutual TLS, policy, durable log
append, projected, signed and encrypted answer, verified and decrypted, outbound log. It prints queries/s
and latency percentiles. --via internal also runs the bank as a server with its internal API and, after
the Go-client run, sends the same queries as an internal client (mutual TLS with a client certificate,
staff id, business reference and a fresh idempotency key per query), so both paths are measured in one run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if via != "go" && via != "internal" {
				return fmt.Errorf("bench: --via is go or internal")
			}
			return a.runBench(cmd.Context(), duration, concurrency, keep, storeURL, via == "internal")
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", 20*time.Second, "how long to send queries")
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "concurrent workers")
	cmd.Flags().StringVar(&keep, "keep", "", "build the network here and keep it")
	cmd.Flags().StringVar(&storeURL, "store", "", "the provider's store: a postgres:// URL (default: its own SQLite file)")
	cmd.Flags().StringVar(&via, "via", "go", "go: the node's Go client only; internal: the Go client, then the same load through the bank's internal API")
	return cmd
}

func (a *app) runBench(ctx context.Context, duration time.Duration, concurrency int, keep, storeURL string, viaInternal bool) error {
	if concurrency < 1 || duration <= 0 {
		return fmt.Errorf("bench: need --concurrency ≥ 1 and a positive --duration")
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
	if _, err := bank.Client.Query(ctx, q); err != nil { // warm up: TLS session, prepared query
		return fmt.Errorf("bench: warm-up query failed: %w", err)
	}

	fmt.Fprintf(a.out, "bench: %d workers for %s, bank-a → tax-dept (provider in its own process), loan_approval with consent\n", concurrency, duration)
	if err := a.load(ctx, "go client", duration, concurrency, func(ctx context.Context) error {
		_, err := bank.Client.Query(ctx, q)
		return err
	}); err != nil {
		return err
	}
	if internal == nil {
		return nil
	}
	return internal.run(ctx, a, bank, duration, concurrency, q)
}

// load runs send from concurrency workers for duration and prints the
// rate and latency percentiles under the label name.
func (a *app) load(ctx context.Context, name string, duration time.Duration, concurrency int, send func(context.Context) error) error {
	deadline := time.Now().Add(duration)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := send(ctx); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	n := len(latencies)
	if n == 0 {
		return fmt.Errorf("bench: %s: no query succeeded (%v)", name, firstErr.Load())
	}
	pct := func(p float64) time.Duration { return latencies[min(n-1, int(float64(n)*p))] }
	fmt.Fprintf(a.out, "[%s]\n", name)
	fmt.Fprintf(a.out, "queries:   %d ok, %d failed\n", n, failures.Load())
	fmt.Fprintf(a.out, "rate:      %.1f queries/s\n", float64(n)/elapsed.Seconds())
	fmt.Fprintf(a.out, "latency:   p50 %s  p95 %s  p99 %s  max %s\n", round(pct(0.50)), round(pct(0.95)), round(pct(0.99)), round(latencies[n-1]))
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(a.out, "first failure: %v\n", e)
	}
	return nil
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
