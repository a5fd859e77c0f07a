package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// Errors returned by this package. Every error wraps one of them.
var (
	// ErrUnavailable: Vault is sealed, unreachable, or did not answer before
	// the deadline. Retrying later may succeed.
	ErrUnavailable = errors.New("vault: unavailable")
	// ErrDenied: Vault refused the credentials or the operation.
	ErrDenied = errors.New("vault: permission denied")
	// ErrKey: the key or secret is missing, of the wrong type, malformed, or
	// its pinned version has been retired.
	ErrKey = errors.New("vault: key not usable")
	// ErrConfig: the options are incomplete or inconsistent.
	ErrConfig = errors.New("vault: bad configuration")
)

// DefaultTimeout bounds each call to Vault when no deadline is given.
const DefaultTimeout = 3 * time.Second

// Auth is how a Client logs in to Vault. Token and AppRole implement it.
type Auth interface {
	// Login returns a Vault token; c has no token set.
	Login(ctx context.Context, c *api.Client) (string, error)
	// Method names the auth method for logs ("token", "approle").
	Method() string
}

// Token authenticates with a fixed Vault token.
type Token string

// Login returns the token itself.
func (t Token) Login(context.Context, *api.Client) (string, error) {
	if t == "" {
		return "", fmt.Errorf("%w: empty token", ErrConfig)
	}
	return string(t), nil
}

// Method is "token".
func (Token) Method() string { return "token" }

// AppRole authenticates with a role id and secret id at auth/MOUNT/login.
type AppRole struct {
	RoleID, SecretID string
	Mount            string // default "approle"
}

// Login exchanges the role id and secret id for a token.
func (a AppRole) Login(ctx context.Context, c *api.Client) (string, error) {
	if a.RoleID == "" || a.SecretID == "" {
		return "", fmt.Errorf("%w: approle needs a role id and a secret id", ErrConfig)
	}
	mount := a.Mount
	if mount == "" {
		mount = "approle"
	}
	s, err := c.Logical().WriteWithContext(ctx, "auth/"+mount+"/login",
		map[string]any{"role_id": a.RoleID, "secret_id": a.SecretID})
	if err != nil {
		return "", classify("approle login", err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return "", fmt.Errorf("%w: approle login returned no token", ErrDenied)
	}
	return s.Auth.ClientToken, nil
}

// Method is "approle".
func (AppRole) Method() string { return "approle" }

// Options configure a Client.
type Options struct {
	Address string // e.g. https://vault.example:8200
	Auth    Auth
	// CACert is a PEM file of CAs for Vault's TLS certificate; empty uses
	// the system roots.
	CACert string
	// Timeout bounds each HTTP request to Vault (DefaultTimeout if zero).
	Timeout time.Duration
}

// LogValue shows the address and auth method only, never credentials.
func (o Options) LogValue() slog.Value {
	method := ""
	if o.Auth != nil {
		method = o.Auth.Method()
	}
	return slog.GroupValue(slog.String("address", o.Address), slog.String("auth", method))
}

// Client is an authenticated Vault API client. With AppRole it logs in again
// once when Vault answers 403 (an expired token). Safe for concurrent use.
type Client struct {
	api  *api.Client
	auth Auth
	mu   sync.Mutex // serialises re-login
}

// Connect makes a client and logs in (AppRole contacts Vault; a token is
// only checked by the first request).
func Connect(ctx context.Context, o Options) (*Client, error) {
	if o.Address == "" || o.Auth == nil {
		return nil, fmt.Errorf("%w: address and auth are required", ErrConfig)
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, cfg.Error)
	}
	cfg.Address = o.Address
	cfg.MaxRetries = 0 // fail fast: the caller's deadline, not retries, decides
	cfg.Timeout = o.Timeout
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if o.CACert != "" {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: o.CACert}); err != nil {
			return nil, fmt.Errorf("%w: TLS: %v", ErrConfig, err)
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.ClearToken() // never pick up VAULT_TOKEN implicitly
	cl := &Client{api: c, auth: o.Auth}
	if err := cl.login(ctx); err != nil {
		return nil, err
	}
	return cl, nil
}

// API is the underlying client, for operations this package does not wrap.
func (c *Client) API() *api.Client { return c.api }

func (c *Client) login(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.api.ClearToken()
	tok, err := c.auth.Login(ctx, c.api)
	if err != nil {
		return err
	}
	c.api.SetToken(tok)
	return nil
}

// do runs op, logging in again and retrying once if Vault answers 403 and
// the auth method can produce a fresh token.
func (c *Client) do(ctx context.Context, what string, op func(context.Context) (*api.Secret, error)) (*api.Secret, error) {
	s, err := op(ctx)
	if err == nil {
		return s, nil
	}
	var re *api.ResponseError
	if _, isToken := c.auth.(Token); !isToken && errors.As(err, &re) && re.StatusCode == http.StatusForbidden {
		if lerr := c.login(ctx); lerr != nil {
			return nil, lerr
		}
		s, err = op(ctx)
		if err == nil {
			return s, nil
		}
	}
	return nil, classify(what, err)
}

func (c *Client) read(ctx context.Context, path string) (*api.Secret, error) {
	return c.do(ctx, "read "+path, func(ctx context.Context) (*api.Secret, error) {
		return c.api.Logical().ReadWithContext(ctx, path)
	})
}

func (c *Client) write(ctx context.Context, path string, data map[string]any) (*api.Secret, error) {
	return c.do(ctx, "write "+path, func(ctx context.Context) (*api.Secret, error) {
		return c.api.Logical().WriteWithContext(ctx, path, data)
	})
}

// Health reports whether Vault is reachable, initialised and unsealed.
func (c *Client) Health(ctx context.Context) error {
	h, err := c.api.Sys().HealthWithContext(ctx)
	if err != nil {
		return classify("health", err)
	}
	if h.Sealed {
		return fmt.Errorf("%w: sealed", ErrUnavailable)
	}
	if !h.Initialized {
		return fmt.Errorf("%w: not initialised", ErrUnavailable)
	}
	return nil
}

// classify maps an API error to a sentinel. Vault's error strings name paths
// and reasons, never the token, so they are kept as the cause.
func classify(what string, err error) error {
	var re *api.ResponseError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %s: no answer before the deadline", ErrUnavailable, what)
	case errors.As(err, &re):
		msg := strings.Join(re.Errors, "; ")
		switch {
		case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%w: %s: %s", ErrDenied, what, msg)
		case re.StatusCode == http.StatusServiceUnavailable && strings.Contains(msg, "sealed"):
			return fmt.Errorf("%w: %s: sealed", ErrUnavailable, what)
		case re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%w: %s: HTTP %d: %s", ErrUnavailable, what, re.StatusCode, msg)
		default:
			return fmt.Errorf("%w: %s: HTTP %d: %s", ErrKey, what, re.StatusCode, msg)
		}
	case errors.As(err, &ne):
		if ne.Timeout() {
			return fmt.Errorf("%w: %s: timed out", ErrUnavailable, what)
		}
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	default:
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	}
}
