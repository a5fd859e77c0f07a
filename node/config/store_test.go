package config

import (
	"strings"
	"testing"
)

func TestStoreBackends(t *testing.T) {
	cases := []struct {
		store    string
		postgres bool
		wantErr  string
	}{
		{"sqlite:node.db", false, ""},
		{"postgres://node@db:5432/bank_a?sslmode=verify-full", true, ""},
		{"postgresql://node:s3cret@db/bank_a?search_path=bank_a", true, ""},
		{"sqlite:", false, "empty sqlite path"},
		{"postgres:///nohost", true, "without a host"},
		{"mysql://u:s3cret@db/x", false, "want sqlite:PATH"},
		{"node.db", false, "want sqlite:PATH"},
	}
	for _, tc := range cases {
		t.Run(tc.store, func(t *testing.T) {
			c := &Config{Store: tc.store}
			if got := c.StoreIsPostgres(); got != tc.postgres {
				t.Errorf("StoreIsPostgres = %v", got)
			}
			err := c.validateStore()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "s3cret"):
				t.Fatalf("error leaks the password: %v", err)
			}
			if strings.Contains(c.RedactedStore(), "s3cret") {
				t.Fatalf("RedactedStore leaks the password: %s", c.RedactedStore())
			}
		})
	}
}

func TestOpsListenLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"":               true,
		"127.0.0.1:9090": true,
		"[::1]:9090":     true,
		"localhost:9090": true,
		"0.0.0.0:9090":   false,
		"10.0.0.5:9090":  false,
		"nowhere":        false,
	} {
		c := &Config{OpsListen: addr}
		if err := c.validateOps(); (err == nil) != ok {
			t.Errorf("ops_listen %q: got %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestLoadPostgresStore(t *testing.T) {
	dir := write(t, good+"store: postgres://node@127.0.0.1:5432/test\nops_listen: 127.0.0.1:9464\n")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.StoreIsPostgres() || c.OpsListen != "127.0.0.1:9464" {
		t.Fatalf("loaded %q, %q", c.Store, c.OpsListen)
	}
}
