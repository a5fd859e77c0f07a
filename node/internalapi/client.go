package internalapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/schemas"
)

// maxAnswer bounds an internal API answer read by Client.
const maxAnswer = 32 << 20

// ClientConfig is an internal client's identity: where the internal API
// listens and the files of its certificate, key and the operator CA. It is
// what a system (or the CLI, with --client-config) keeps in a YAML file.
type ClientConfig struct {
	URL  string `yaml:"url,omitempty"` // https://HOST:PORT; default: the node's internal_listen
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"` // the operator CA certificate (internal-ca.crt)
	// StaffID is the default staff member for calls from this identity.
	StaffID string `yaml:"staff_id,omitempty"`
}

// LoadClientConfig reads a ClientConfig from a YAML file; relative paths
// are taken against the file's folder.
func LoadClientConfig(path string) (ClientConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ClientConfig{}, err
	}
	var c ClientConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return ClientConfig{}, fmt.Errorf("internalapi: %s: %w", path, err)
	}
	for _, p := range []*string{&c.Cert, &c.Key, &c.CA} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	return c, nil
}

// APIClient calls a node's internal API as one registered client.
type APIClient struct {
	base string
	hc   *http.Client
}

// NewAPIClient makes an APIClient from its identity.
func NewAPIClient(c ClientConfig) (*APIClient, error) {
	if c.URL == "" || c.Cert == "" || c.Key == "" || c.CA == "" {
		return nil, errors.New("internalapi: an internal client needs the URL, its certificate, key and the operator CA")
	}
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("internalapi: client certificate: %w", err)
	}
	pool, err := certs.LoadPool(c.CA)
	if err != nil {
		return nil, err
	}
	return &APIClient{base: strings.TrimSuffix(c.URL, "/"), hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
	}}}, nil
}

// Who names the staff member and business reference of a call, and its
// idempotency key (a POST that spends needs one; NewIdempotencyKey makes one).
type Who struct {
	StaffID        string
	BusinessRef    string
	IdempotencyKey string
}

// NewIdempotencyKey returns a random key.
func NewIdempotencyKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Query asks a provider through the internal API. A refusal is a
// *schemas.Error with the node's or the provider's code.
func (c *APIClient) Query(ctx context.Context, who Who, q QueryRequest) (*QueryAnswer, error) {
	var out QueryAnswer
	if err := c.Do(ctx, http.MethodPost, strings.TrimPrefix(RouteQuery, "POST "), who, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Do sends one call: in (if not nil) as the JSON body, the answer decoded
// into out.
func (c *APIClient) Do(ctx context.Context, method, path string, who Who, in, out any) error {
	if in == nil {
		return c.Send(ctx, method, path, who, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.Send(ctx, method, path, who, schemas.ContentTypeJSON, b, out)
}

// Send sends one call with body (nil: none) of type ctype, the answer
// decoded into out (a *[]byte takes the answer as it is).
func (c *APIClient) Send(ctx context.Context, method, path string, who Who, ctype string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for h, v := range map[string]string{HeaderStaffID: who.StaffID, HeaderBusinessRef: who.BusinessRef, HeaderIdempotencyKey: who.IdempotencyKey} {
		if v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return schemas.Wrap(schemas.CodePeerUnavailable, err, "internal API unreachable")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return schemas.Wrap(schemas.CodePeerUnavailable, err, "reading the internal API's answer")
	}
	if resp.StatusCode != http.StatusOK {
		var eb schemas.ErrorBody
		if err := json.Unmarshal(b, &eb); err != nil || !eb.Error.Code.Known() {
			return schemas.Errorf(schemas.CodePeerBadResponse, "internal API answered HTTP %d without a known error code", resp.StatusCode)
		}
		return &schemas.Error{Code: eb.Error.Code, Message: eb.Error.Message}
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *[]byte: // an answer that is not JSON (a model's HTML report)
		*out = b
		return nil
	default:
		return json.Unmarshal(b, out)
	}
}

// JobPoll is how often WaitJob asks for a running job's status.
const JobPoll = 500 * time.Millisecond

// WaitJob follows job until it ends, calling seen (if not nil) with each
// status read, and returns the finished job. If ctx ends first, the job goes
// on at the node; the error says so.
func (c *APIClient) WaitJob(ctx context.Context, who Who, job Job, seen func(Job)) (Job, error) {
	who.IdempotencyKey = ""
	for job.State == JobRunning {
		select {
		case <-ctx.Done():
			return job, fmt.Errorf("job %s is still running at the node: %w", job.ID, ctx.Err())
		case <-time.After(JobPoll):
		}
		if err := c.Do(ctx, http.MethodGet, "/internal/v1/jobs/"+job.ID, who, nil, &job); err != nil {
			return job, fmt.Errorf("job %s: %w", job.ID, err)
		}
		if seen != nil {
			seen(job)
		}
	}
	return job, nil
}
