package peer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/creditexchange/node/schemas"
)

// Get fetches path from member's mutual-TLS API (pinned like post) and
// returns the body of a 200 answer; any other status becomes the member's
// wire error. For the witness protocol (checkpoints, proofs, cosignatures).
func (c *Client) Get(ctx context.Context, member, path string) ([]byte, error) {
	reg, err := c.opts.Registries.Snapshot(c.opts.Clock())
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	m, ok := reg.Member(member)
	if !ok {
		return nil, schemas.Errorf(schemas.CodeUnknownMember, "member %q is not in the registry", member)
	}
	hc, err := c.httpClient(m)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "TLS configuration")
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(m.Endpoint, "/")+path, nil)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "bad endpoint")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, fmt.Sprintf("member %s unreachable", member))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, "reading member answer")
	}
	if len(b) > maxResponse {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "member answer too large")
	}
	if resp.StatusCode != http.StatusOK {
		e, _ := decodeError(&response{status: resp.StatusCode, body: b})
		return nil, e
	}
	return b, nil
}
