package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
)

// nodeRunning reports whether the node configured by cfg is serving: a
// process holds its serve lock (node.Running). A running node holds its
// store and its logs' sequencers; a second process acting as the node must
// not open them. A lock that cannot be probed counts as running.
func nodeRunning(cfg *config.Config) bool {
	running, err := node.Running(cfg.Dir)
	return running || err != nil
}

// errNodeRunning is the refusal of a command that would open a running
// node's store; instead says what to run.
func errNodeRunning(cfg *config.Config, instead string) error {
	return fmt.Errorf("node %s is running (a process serving it holds %s) and holds its store; this command does not open it. %s",
		cfg.ID, filepath.Join(cfg.Dir, node.ServeLockFile), instead)
}

// internalAPIHint is how to reach a running node through its internal API
// for operation op ("": the internal API does not offer it).
func internalAPIHint(cfg *config.Config, op string) string {
	if op == "" {
		return "The internal API does not offer this operation; run it while the node is stopped."
	}
	if cfg.InternalListen == "" {
		return fmt.Sprintf("Set internal_listen in %s/node.yaml, restart it, register a client (creditnode clients add --dir %s --name NAME --operations %s --purposes …) and call its internal API.",
			cfg.Dir, cfg.Dir, op)
	}
	return fmt.Sprintf("Call its internal API at https://%s as a registered client (creditnode clients add --dir %s --name NAME --operations %s --purposes …).",
		cfg.InternalListen, cfg.Dir, op)
}

// openIdleNode opens the node in dir for a command that acts as it, after
// checking that the node is not running.
func (a *app) openIdleNode(ctx context.Context, dir, op string) (*node.Node, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	if nodeRunning(cfg) {
		return nil, errNodeRunning(cfg, internalAPIHint(cfg, op))
	}
	return a.openNode(ctx, dir, a.logger())
}

// internalClientFlags are a command's internal-API client identity and who
// and why of its calls.
type internalClientFlags struct {
	configFile, cert, key, ca, url string
	staff, ref, idempotencyKey     string
}

func (f *internalClientFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "client-config", "", "internal client identity file (YAML: url, cert, key, ca, staff_id), used when the node is running")
	fl.StringVar(&f.cert, "client-cert", "", "internal client certificate (from creditnode clients add)")
	fl.StringVar(&f.key, "client-key", "", "internal client key")
	fl.StringVar(&f.ca, "internal-ca", "", "the node's operator CA certificate (internal-ca.crt)")
	fl.StringVar(&f.url, "internal-url", "", "internal API URL (default: https://internal_listen)")
	fl.StringVar(&f.staff, "staff", "", "staff id the call is made for")
	fl.StringVar(&f.ref, "ref", "", "business reference, e.g. the loan application number")
	fl.StringVar(&f.idempotencyKey, "idempotency-key", "", "idempotency key (default: a fresh random key)")
}

// client is the internal API client for a running node, or the error saying
// what is missing.
func (f *internalClientFlags) client(cfg *config.Config, op string) (*internalapi.APIClient, internalapi.Who, error) {
	var c internalapi.ClientConfig
	if f.configFile != "" {
		var err error
		if c, err = internalapi.LoadClientConfig(f.configFile); err != nil {
			return nil, internalapi.Who{}, err
		}
	}
	for _, o := range []struct {
		to *string
		v  string
	}{{&c.Cert, f.cert}, {&c.Key, f.key}, {&c.CA, f.ca}, {&c.URL, f.url}, {&c.StaffID, f.staff}} {
		if o.v != "" {
			*o.to = o.v
		}
	}
	if c.URL == "" && cfg.InternalListen != "" {
		c.URL = "https://" + cfg.InternalListen
	}
	if c.URL == "" || c.Cert == "" || c.Key == "" || c.CA == "" {
		return nil, internalapi.Who{}, errNodeRunning(cfg, internalAPIHint(cfg, op)+
			" Then run this command again with --client-config FILE (or --client-cert, --client-key, --internal-ca), --staff and --ref.")
	}
	cl, err := internalapi.NewAPIClient(c)
	if err != nil {
		return nil, internalapi.Who{}, err
	}
	key := f.idempotencyKey
	if key == "" {
		key = internalapi.NewIdempotencyKey()
	}
	return cl, internalapi.Who{StaffID: c.StaffID, BusinessRef: f.ref, IdempotencyKey: key}, nil
}
