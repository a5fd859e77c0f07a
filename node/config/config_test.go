package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `id: bank-a
organisation: Bank A
uscc: 91110000100000016D
roles: [bank]
listen: 127.0.0.1:7443
public_listen: 127.0.0.1:7444
registry: ../registry.jws
authority_key: ../authority.jwk
tls: {ca: ../ca.crt}
catalog: {tax_payment: authorised}
clock_skew: 90s
`

func write(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadDefaultsAndPaths(t *testing.T) {
	dir := write(t, good)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClockSkew.D() != 90*time.Second || c.RequestTimeout.D() != 10*time.Second || c.Keys.Backend != "file" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if got := c.StorePath(); got != filepath.Join(dir, "node.db") {
		t.Errorf("StorePath %s", got)
	}
	if got := c.Path("../registry.jws"); got != filepath.Join(dir, "../registry.jws") {
		t.Errorf("Path %s", got)
	}
	if c.AdvertisedEndpoint() != "https://127.0.0.1:7443" {
		t.Errorf("endpoint %s", c.AdvertisedEndpoint())
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	cases := map[string]struct{ from, to, want string }{
		"no id":           {"id: bank-a", "id: ''", "id is required"},
		"upper-case id":   {"id: bank-a", "id: Bank-A", "lower-case"},
		"unknown role":    {"roles: [bank]", "roles: [banker]", "unknown role"},
		"no roles":        {"roles: [bank]", "roles: []", "at least one role"},
		"bad listen":      {"listen: 127.0.0.1:7443", "listen: nowhere", "listen address"},
		"no trust":        {"authority_key: ../authority.jwk", "authority_key: ''", "trust anchor"},
		"bad level":       {"tax_payment: authorised", "tax_payment: secret", "unknown sharing level"},
		"bad skew":        {"clock_skew: 90s", "clock_skew: 2h", "clock_skew"},
		"unparsed skew":   {"clock_skew: 90s", "clock_skew: soon", "bad duration"},
		"unknown field":   {"clock_skew: 90s", "clock_skew: 90s\nclok: 1", "clok"},
		"other keystore":  {"clock_skew: 90s", "clock_skew: 90s\nkeys: {backend: hsm}", "not supported"},
		"negative gc":     {"clock_skew: 90s", "clock_skew: 90s\nruntime: {gc_percent: -1}", "runtime.gc_percent"},
		"negative limit":  {"clock_skew: 90s", "clock_skew: 90s\nruntime: {memory_limit_mib: -5}", "memory_limit_mib"},
		"bad internal":    {"clock_skew: 90s", "clock_skew: 90s\ninternal_listen: nowhere", "internal_listen"},
		"shared internal": {"clock_skew: 90s", "clock_skew: 90s\ninternal_listen: 127.0.0.1:7443", "internal_listen must differ"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("fixture lacks %q", tc.from)
			}
			_, err := Load(write(t, strings.Replace(good, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	c, err := Load(write(t, good))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != c.ID || back.ClockSkew != c.ClockSkew || back.Catalog["tax_payment"] != "authorised" {
		t.Fatalf("round trip changed the config: %+v", back)
	}
}
