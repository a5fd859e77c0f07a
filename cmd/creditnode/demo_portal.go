package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/schemas"
)

// demoPortalWitnesses is how many witness cosignatures the demo's portal
// requires of each provider's checkpoint.
const demoPortalWitnesses = 1

// enableDemoPortal turns the subject portal on at every node of the demo
// federation and has the nodes witness each other every two seconds, so
// that a subject's checkpoint is cosigned by the time the page is opened.
func enableDemoPortal(net *devnet.Network) error {
	for _, s := range net.Specs {
		dir := net.NodeDir(s.ID)
		cfg, err := config.Load(dir)
		if err != nil {
			return err
		}
		cfg.Portal = config.Portal{Enabled: true, Witnesses: demoPortalWitnesses}
		cfg.Witness.PollInterval = config.Duration(2 * time.Second)
		if err := cfg.Save(dir); err != nil {
			return err
		}
	}
	return nil
}

// demoPortal waits until the demo subject's log at every member verifies
// as `subject inquiries --verify --witnesses 1` would, writes the demo
// subject's key file and certificate, prints the portal's address, and
// keeps the federation running until ctx ends (Ctrl-C).
func (a *app) demoPortal(ctx context.Context, t *transcript, net *devnet.Network, reg *schemas.Registry, subj *devnet.Subject) error {
	t.step("The subject portal")
	sc := &peer.SubjectClient{Key: subj.Key, Cert: subj.Cert, HTTP: peer.NewSubjectHTTPClient(net.CA.Pool())}
	r, err := loadRegistry(net)
	if err != nil {
		return err
	}
	sc.Registry = r
	for _, m := range reg.Members {
		if err := waitWitnessed(ctx, sc, m.PublicEndpoint, m.ID); err != nil {
			return err
		}
		t.say("%-10s the SME's log verifies complete, cosigned by a witness", m.ID)
	}
	keyDir := filepath.Join(net.Dir, "demo-subject")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return err
	}
	pemBytes, err := keys.MarshalSigningKey(subj.Key)
	if err != nil {
		return err
	}
	keyPath, certPath := filepath.Join(keyDir, "subject.key"), filepath.Join(keyDir, "subject.cert")
	if err := os.WriteFile(keyPath, pemBytes, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(certPath, subj.Cert, 0o644); err != nil {
		return err
	}
	t.say("portal:           %s/portal/", memberPublic(reg, "bank-a"))
	t.say("demo subject key: %s", keyPath)
	t.say("its certificate:  %s  (choose both files in the portal's Import)", certPath)
	t.say("the nodes use a development CA your browser does not know: open each address once and accept it,")
	for _, m := range reg.Members {
		t.say("  %s/healthz  (%s)", m.PublicEndpoint, m.ID)
	}
	t.say("or start Chromium with --ignore-certificate-errors --user-data-dir=$(mktemp -d)")
	fmt.Fprintln(a.out, "\nthe federation keeps running; press Ctrl-C to stop it")
	<-ctx.Done()
	return nil
}

// waitWitnessed reads the subject's log at provider until it verifies with
// demoPortalWitnesses cosignatures (the nodes commit and witness in the
// background), for at most a minute.
func waitWitnessed(ctx context.Context, sc *peer.SubjectClient, url, provider string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		log, err := sc.Inquiries(ctx, url, provider)
		if err == nil {
			if _, err = subjectcheck.Complete(log, sc.Registry.(*registry.Registry), demoPortalWitnesses); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: the subject's log did not verify with a witness: %w", provider, err)
		case <-time.After(time.Second):
		}
	}
}
