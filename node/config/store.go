package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// StoreIsPostgres reports whether Store names a PostgreSQL database rather
// than an SQLite file.
func (c *Config) StoreIsPostgres() bool {
	return strings.HasPrefix(c.Store, "postgres://") || strings.HasPrefix(c.Store, "postgresql://")
}

// validateStore accepts sqlite:PATH with a non-empty path, or a parsable
// postgres:// or postgresql:// URL naming a host. The error never repeats
// the URL's password.
func (c *Config) validateStore() error {
	switch {
	case strings.HasPrefix(c.Store, "sqlite:"):
		if strings.TrimPrefix(c.Store, "sqlite:") == "" {
			return fmt.Errorf("config: store %q: empty sqlite path", c.Store)
		}
		return nil
	case c.StoreIsPostgres():
		u, err := url.Parse(c.Store)
		if err != nil {
			return fmt.Errorf("config: store: unparsable postgres URL")
		}
		if u.Host == "" {
			return fmt.Errorf("config: store %q: postgres URL without a host", u.Redacted())
		}
		return nil
	default:
		return fmt.Errorf("config: store %q: want sqlite:PATH or a postgres:// URL", redactStore(c.Store))
	}
}

// RedactedStore is Store with any password replaced, for logs.
func (c *Config) RedactedStore() string { return redactStore(c.Store) }

func redactStore(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// validateOps accepts an empty OpsListen, or a host:port on a loopback
// address: the ops listener has no TLS and no authentication.
func (c *Config) validateOps() error {
	if c.OpsListen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.OpsListen)
	if err != nil {
		return fmt.Errorf("config: ops_listen %q: %w", c.OpsListen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("config: ops_listen %q: must be a loopback address (it serves plain HTTP)", c.OpsListen)
	}
	return nil
}
