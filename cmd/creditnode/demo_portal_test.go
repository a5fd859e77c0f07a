package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/devnet"
)

// `creditnode demo --portal` builds the federation, waits until the demo
// subject's log verifies with a witness at every member, prints the
// portal's address and the demo subject's key file, and keeps running
// until interrupted (Ctrl-C): the portal page is served at that address,
// the key file is the subject's key, and an interrupt stops every node
// and ends the command cleanly.
func TestDemoPortal(t *testing.T) {
	bin, err := exec.LookPath("creditnode") // TestMain's testscript puts it on PATH
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A guard against a hung demo, not an assertion on speed.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--portal", "--keep", filepath.Join(dir, "fed"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		portal, keyPath string
		transcript      strings.Builder
	)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		l := lines.Text()
		transcript.WriteString(l + "\n")
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "portal:"); ok {
			portal = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "demo subject key:"); ok {
			keyPath = strings.TrimSpace(v)
		}
		if strings.Contains(l, "press Ctrl-C to stop it") {
			break
		}
	}
	if portal == "" || keyPath == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no portal address or key file printed:\n%s", transcript.String())
	}
	go io.Copy(io.Discard, out) // the rest of the transcript, until it exits

	pem, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ParseSigningKey(pem); err != nil {
		t.Fatalf("demo subject key %s: %v", keyPath, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(keyPath), "subject.cert")); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "fed", devnet.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("no CA certificate in the federation directory")
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Get(portal)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "portal.js") {
		t.Fatalf("portal page at %s: %d\n%s", portal, resp.StatusCode, page)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo after Ctrl-C: %v", err)
	}
}
