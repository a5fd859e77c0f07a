// Package devnet builds a development federation on loopback: a federation
// authority key, a development CA, node directories with their own keys,
// certificates and configs, and a signed registry listing them all. The demo,
// the load generator and the end-to-end tests use it; every part it makes is
// the real one a production federation would use, only generated locally.
package devnet

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
)

// Spec describes one node of the network.
type Spec struct {
	ID           string
	Organisation string
	USCC         string
	Roles        []string
	Catalog      map[string]string
	Jurisdiction string // default CN
	// FreeReportsPerYear is the node's free credit reports per subject and
	// year; 0 means DevFreeReportsPerYear, so demos and tests can ask often.
	FreeReportsPerYear int
}

// DevFreeReportsPerYear is the free-report limit devnet nodes get unless
// their Spec sets one (the production default is 2).
const DevFreeReportsPerYear = 1000

// DevSubjectReadBurst is how many reads of its own log a subject may make
// at once on a devnet node (the production default is 10, refilled at 30
// an hour), so demos and tests can read logs often.
const DevSubjectReadBurst = 1000

// Network is a federation laid out under Dir.
type Network struct {
	Dir       string
	Authority ed25519.PrivateKey
	CA        *certs.CA
	Specs     []Spec
	Validity  time.Duration
	serial    int64
}

// Files shared by every node, under Network.Dir.
const (
	RegistryFile = "registry.jws"
	AuthorityKey = "authority.key"
	AuthorityJWK = "authority.jwk"
	CACertFile   = "ca.crt"
)

// Create lays out a network under dir: authority, CA, one directory per spec
// with fresh keys and a certificate, loopback ports, and a signed registry.
func Create(dir string, specs []Spec) (*Network, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	auth, err := registry.GenerateAuthority()
	if err != nil {
		return nil, err
	}
	if err := registry.SaveAuthority(dir, auth); err != nil {
		return nil, err
	}
	ca, err := certs.NewCA("Credit Exchange development CA", 30*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := ca.WriteFiles(dir); err != nil {
		return nil, err
	}
	n := &Network{Dir: dir, Authority: auth, CA: ca, Specs: specs, Validity: 7 * 24 * time.Hour}
	for _, s := range specs {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		jur := s.Jurisdiction
		if jur == "" {
			jur = "CN"
		}
		nd := n.NodeDir(s.ID)
		cfg, err := node.Init(nd, node.InitOptions{
			ID: s.ID, Organisation: s.Organisation, USCC: s.USCC, Roles: s.Roles, Jurisdiction: jur,
			Listen: ports[0], PublicListen: ports[1], Catalog: s.Catalog,
			Registry: filepath.Join("..", RegistryFile), AuthorityKey: filepath.Join("..", AuthorityJWK), CA: filepath.Join("..", CACertFile),
		})
		if err != nil {
			return nil, fmt.Errorf("devnet: init %s: %w", s.ID, err)
		}
		cfg.FreeReportsPerYear = cmp.Or(s.FreeReportsPerYear, DevFreeReportsPerYear)
		cfg.SubjectReads.PerHour, cfg.SubjectReads.Burst = 3600*DevSubjectReadBurst, DevSubjectReadBurst
		if err := cfg.Save(nd); err != nil {
			return nil, err
		}
		certPEM, keyPEM, err := ca.IssueNode(s.ID, nil, 30*24*time.Hour)
		if err != nil {
			return nil, err
		}
		if err := certs.WriteNodeFiles(nd, certPEM, keyPEM); err != nil {
			return nil, err
		}
	}
	if err := n.SignRegistry(nil); err != nil {
		return nil, err
	}
	return n, nil
}

// NodeDir is the directory of node id.
func (n *Network) NodeDir(id string) string { return filepath.Join(n.Dir, id) }

// RegistryPath is the signed registry file.
func (n *Network) RegistryPath() string { return filepath.Join(n.Dir, RegistryFile) }

// Registry is the registry document as currently signed, built from the node
// directories.
func (n *Network) Registry() (*schemas.Registry, error) {
	now := time.Now().UTC().Truncate(time.Second)
	reg := &schemas.Registry{Federation: "credit-exchange-dev", Serial: n.serial + 1, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(n.Validity)}
	for _, s := range n.Specs {
		m, err := node.MemberEntry(n.NodeDir(s.ID))
		if err != nil {
			return nil, err
		}
		reg.Members = append(reg.Members, m)
	}
	return reg, nil
}

// SignRegistry rebuilds the registry, lets mutate change it (tests use this
// to re-register or drop members), signs it with the authority key and writes
// it atomically where every node watches it.
func (n *Network) SignRegistry(mutate func(*schemas.Registry)) error {
	reg, err := n.Registry()
	if err != nil {
		return err
	}
	if mutate != nil {
		mutate(reg)
	}
	tok, err := registry.Sign(reg, n.Authority, keys.SigningKID(n.Authority.Public().(ed25519.PublicKey)))
	if err != nil {
		return err
	}
	n.serial = reg.Serial
	tmp := n.RegistryPath() + ".tmp"
	if err := os.WriteFile(tmp, tok, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.RegistryPath())
}

// ImportRecords loads records into node id's store (the node need not run:
// SQLite in WAL mode lets the demo seed while a node process is up, too).
func (n *Network) ImportRecords(ctx context.Context, id string, recs []records.Record) error {
	st, err := n.openStore(ctx, id)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.ImportRecords(ctx, recs)
}

// Subject is an enrolled subject: its key and its registrar-issued certificate.
type Subject struct {
	ID   string
	Key  ed25519.PrivateKey
	Cert []byte
}

// EnrolSubject makes a key for subject and has registrar certify it, as
// `creditnode subject keygen` and `creditnode subject enrol` do.
func (n *Network) EnrolSubject(registrarID, subject string) (*Subject, error) {
	nk, err := keys.Load(n.NodeDir(registrarID))
	if err != nil {
		return nil, err
	}
	id, typ, err := records.NormalizeSubject(subject)
	if err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := consent.IssueSubjectCert(nk.Signer, registrarID, nk.SigningKID, id, typ, priv.Public().(ed25519.PublicKey), 365*24*time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	return &Subject{ID: id, Key: priv, Cert: cert}, nil
}

// Process is a node running as a child process.
type Process struct {
	ID  string
	Cmd *exec.Cmd
}

// Start runs `bin serve --dir` for node id and waits until its listeners
// accept connections.
func (n *Network) Start(ctx context.Context, bin, id string, logFile *os.File) (*Process, error) {
	return n.start(ctx, bin, id, logFile, "info")
}

// StartQuiet is Start with the node logging warnings and errors only (for
// load generation, where a line per query would measure the logger).
func (n *Network) StartQuiet(ctx context.Context, bin, id string, logFile *os.File) (*Process, error) {
	return n.start(ctx, bin, id, logFile, "warn")
}

func (n *Network) start(ctx context.Context, bin, id string, logFile *os.File, level string) (*Process, error) {
	cmd := exec.CommandContext(ctx, bin, "serve", "--log-level", level, "--dir", n.NodeDir(id))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{ID: id, Cmd: cmd}
	m, err := node.MemberEntry(n.NodeDir(id))
	if err != nil {
		p.Stop()
		return nil, err
	}
	if err := waitListening(ctx, m.Endpoint[len("https://"):], m.PublicEndpoint[len("https://"):]); err != nil {
		p.Stop()
		return nil, fmt.Errorf("devnet: node %s did not start: %w", id, err)
	}
	return p, nil
}

// Stop ends the process gracefully and waits for it.
func (p *Process) Stop() error {
	if p.Cmd.Process == nil {
		return nil
	}
	p.Cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		p.Cmd.Process.Kill()
		return <-done
	}
}

func waitListening(ctx context.Context, addrs ...string) error {
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return errors.New("timed out waiting for " + a)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// freePorts picks k free loopback addresses for nodes that bind them later.
// The ports come from below Linux's ephemeral range (32768–60999 by
// default): a port the kernel handed out for binding port 0 could be handed
// to another process's outgoing connection before the node binds it, which
// made parallel tests fail with "address already in use". 27000–29999 is
// left out too: the CLI's testscripts bind fixed ports there and, unlike a
// federation built here, cannot pick again. A port is kept only if binding
// it succeeds now; another process may still take it before the node binds
// it, so callers that start nodes should build again on "address already in
// use".
func freePorts(k int) ([]string, error) {
	const lo, hi, skipLo, skipHi = 20000, 32700, 27000, 30000
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []string
	for tries := 0; len(out) < k; tries++ {
		if tries > 1000 {
			return nil, errors.New("devnet: no free loopback port")
		}
		port := lo + mrand.IntN(hi-lo-(skipHi-skipLo))
		if port >= skipLo {
			port += skipHi - skipLo
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// GrantConsent has the subject sign an authorisation, as `creditnode consent
// grant` does. It returns the token and its id.
func GrantConsent(s *Subject, requester, purpose string, categories, providers []string, validFor time.Duration, maxUses int) (string, string, error) {
	now := time.Now()
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", "", err
	}
	claims := schemas.ConsentClaims{
		ID: hex.EncodeToString(id), Subject: s.ID, Requester: requester, Purpose: purpose, Categories: categories, Providers: providers,
		NotBefore: now.Add(-time.Minute).Unix(), Expiry: now.Add(validFor).Unix(), MaxUses: maxUses,
	}
	tok, err := consent.Grant(s.Key, s.Cert, claims, now)
	if err != nil {
		return "", "", err
	}
	return string(tok), claims.ID, nil
}
