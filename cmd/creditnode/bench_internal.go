package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/peer"
)

// benchClient is the internal client of `bench --via internal`.
type benchClient struct {
	cfg internalapi.ClientConfig
}

// prepareInternalBench gives the bank's node directory an internal listener
// on a free loopback port and registers a client allowed to query.
func prepareInternalBench(dir string) (*benchClient, error) {
	cfg, err := addInternalClient(dir, "bench", []string{internalapi.OpQuery}, []string{"loan_approval"}, dir)
	if err != nil {
		return nil, err
	}
	return &benchClient{cfg: cfg}, nil
}

// addInternalClient gives the node directory dir an internal listener on a
// free loopback port (unless it has one) and registers a client name with
// ops and purposes, whose certificate and key go into out; it returns the
// client's identity.
func addInternalClient(dir, name string, ops, purposes []string, out string) (internalapi.ClientConfig, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return internalapi.ClientConfig{}, err
	}
	if cfg.InternalListen == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return internalapi.ClientConfig{}, err
		}
		cfg.InternalListen = l.Addr().String()
		l.Close()
		cfg.Dir = ""
		if err := cfg.Save(dir); err != nil {
			return internalapi.ClientConfig{}, err
		}
	}
	op := internalapi.NewOperator(dir)
	_, certPEM, keyPEM, err := op.Add(internalapi.AddOptions{Name: name, Operations: ops, Purposes: purposes})
	if err != nil {
		return internalapi.ClientConfig{}, err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return internalapi.ClientConfig{}, err
	}
	certFile, keyFile := filepath.Join(out, name+"-client.crt"), filepath.Join(out, name+"-client.key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return internalapi.ClientConfig{}, err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return internalapi.ClientConfig{}, err
	}
	return internalapi.ClientConfig{URL: "https://" + cfg.InternalListen, Cert: certFile, Key: keyFile, CA: op.CACertPath()}, nil
}

// run serves the bank (member, subject and internal listeners) and sends
// the same load through its internal API.
func (b *benchClient) run(ctx context.Context, a *app, bank *node.Node, spec loadSpec, q peer.Query) ([]time.Duration, error) {
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	ready := make(chan struct{})
	go func() { served <- bank.Serve(sctx, func() { close(ready) }) }()
	defer func() { stop(); <-served }()
	select {
	case <-ready:
	case err := <-served:
		return nil, fmt.Errorf("bench: bank did not serve: %v", err)
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("bench: bank did not start")
	}
	cl, err := internalapi.NewAPIClient(b.cfg)
	if err != nil {
		return nil, err
	}
	req := internalapi.QueryRequest{Provider: q.Provider, Subject: q.Subject, Purpose: q.Purpose, Categories: q.Categories, Consent: q.Consent}
	send := func(ctx context.Context) error {
		_, err := cl.Query(ctx, internalapi.Who{StaffID: "bench-staff", BusinessRef: "BENCH-1", IdempotencyKey: internalapi.NewIdempotencyKey()}, req)
		return err
	}
	if err := send(ctx); err != nil { // warm up: TLS session to the internal listener
		return nil, fmt.Errorf("bench: warm-up internal query failed: %w", err)
	}
	return a.load(ctx, "internal API", spec, send)
}
