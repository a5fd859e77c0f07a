package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// Sender posts a body to a member's mutual-TLS API, pinned to its registered certificate
// (peer.Client).
type Sender interface {
	SendRaw(ctx context.Context, member, path string, body []byte) (int, []byte, error)
}

// Client is the guest side: it signs requests with the node's key and opens the hosts'
// signed, encrypted answers.
type Client struct {
	ID         string // this node's member id
	Keys       *keys.NodeKeys
	Registries peer.Registries
	Sender     Sender
	// Log is this node's outbound log: every request is recorded before it is sent, and its
	// answer's host log index (or the failure) after, as for queries.
	Log   peer.OutboundLog
	Clock func() time.Time // defaults to time.Now
}

// recordTimeout bounds recording a failed request in the outbound log once the request's
// context has ended.
const recordTimeout = 10 * time.Second

// Proposal is a job's terms, sent to each host.
type Proposal struct {
	Job        string
	Categories []string // the host's categories the job may use
	Label      string   // the label definition, as text (e.g. "90 days past due within 12 months")
	Cohort     int      // expected cohort size
	Hosts      []string
}

// Propose asks host to accept a job; the answer's State is proposed.
func (c *Client) Propose(ctx context.Context, host string, p Proposal) (*schemas.JointAnswer, error) {
	return c.call(ctx, host, PathPropose, schemas.JointRequest{Op: schemas.JointOpPropose, Job: p.Job, Purpose: PurposeJointModeling,
		Categories: p.Categories, Label: p.Label, Cohort: p.Cohort, Hosts: p.Hosts})
}

// Finish tells host that training is over: it keeps its part of the model for inference.
func (c *Client) Finish(ctx context.Context, host, job string) (*schemas.JointAnswer, error) {
	return c.call(ctx, host, PathFinish, schemas.JointRequest{Op: schemas.JointOpFinish, Job: job})
}

// Cancel ends a job at host; later steps are refused with job_cancelled.
func (c *Client) Cancel(ctx context.Context, host, job string) (*schemas.JointAnswer, error) {
	return c.call(ctx, host, PathCancel, schemas.JointRequest{Op: schemas.JointOpCancel, Job: job})
}

// Status asks host where job stands. Only the job's guest gets an answer; a host that does
// not hold the job for this node answers job_unknown.
func (c *Client) Status(ctx context.Context, host, job string) (*schemas.JointStatus, error) {
	ans, err := c.call(ctx, host, PathStatus, schemas.JointRequest{Op: schemas.JointOpStatus, Job: job})
	if err != nil {
		return nil, err
	}
	var st schemas.JointStatus
	if err := schemas.DecodeStrict(ans.Message, &st); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, fmt.Sprintf("status answer from %s malformed", host))
	}
	if st.Job != job || st.Guest != c.ID || st.State != ans.State {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "status answer from %s does not match the request", host)
	}
	return &st, nil
}

// Conn returns the joint.Conn of job to host.
func (c *Client) Conn(host, job string) *Conn { return &Conn{c: c, host: host, job: job} }

// Conn is a joint.Conn over the member API: each message a signed request, each answer signed
// by the host and encrypted to this node.
type Conn struct {
	c         *Client
	host, job string
	// Consent, if set, is sent with every step: the applicant's consent when scoring one.
	Consent string
}

var _ joint.Conn = (*Conn)(nil)

// Call implements joint.Conn.
func (k *Conn) Call(ctx context.Context, req joint.Message) (joint.Message, error) {
	wire, err := joint.Marshal(req)
	if err != nil {
		return nil, err
	}
	ans, err := k.c.call(ctx, k.host, PathStep, schemas.JointRequest{Op: schemas.JointOpStep, Job: k.job, Message: wire, Consent: k.Consent})
	if err != nil {
		return nil, err
	}
	return joint.Unmarshal(ans.Message)
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Client) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// call signs claims, posts them to host and opens the answer.
func (c *Client) call(ctx context.Context, host, path string, claims schemas.JointRequest) (*schemas.JointAnswer, error) {
	claims.ID, claims.IssuedAt, claims.Issuer, claims.Audience = newID(), c.now().Unix(), c.ID, host
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	tok, err := jose.Sign(c.Keys.Signer, c.Keys.SigningKID, schemas.TypJointRequest, payload)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable")
	}
	sent := schemas.OutboundEntry{Stage: schemas.OutboundSent, RequestID: claims.ID, Provider: host, Purpose: PurposeJointModeling,
		Categories: claims.Categories, RequestDigest: inquirylog.Digest(tok)}
	if err := c.record(ctx, sent); err != nil {
		return nil, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable: request not sent")
	}
	failed := func(e *schemas.Error, idx *uint64) error {
		f := sent
		f.Stage, f.Decision, f.Code, f.ProviderLogIndex = schemas.OutboundFailed, schemas.DecisionDeny, e.Code, idx
		// An interrupted request (ctx ended: Ctrl-C, a deadline) is recorded as failed too.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		if err := c.record(rctx, f); err != nil {
			return errors.Join(e, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable"))
		}
		return e
	}
	status, body, err := c.Sender.SendRaw(ctx, host, path, tok)
	if err != nil {
		return nil, failed(schemas.AsError(err, schemas.CodePeerUnavailable, "rejected"), nil)
	}
	if status != 200 {
		var eb schemas.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" {
			return nil, failed(schemas.Errorf(schemas.CodePeerBadResponse, "host answered %d without an error body", status), nil)
		}
		return nil, failed(&schemas.Error{Code: eb.Error.Code, Message: eb.Error.Message}, eb.Error.LogIndex)
	}
	ans, err := c.open(host, claims, body)
	if err != nil {
		return nil, failed(schemas.AsError(err, schemas.CodePeerBadResponse, "rejected"), nil)
	}
	rcpt := sent
	rcpt.Stage, rcpt.Decision, rcpt.ProviderLogIndex = schemas.OutboundReceipt, schemas.DecisionAllow, &ans.LogIndex
	if err := c.record(ctx, rcpt); err != nil {
		return nil, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable: receipt not recorded")
	}
	return ans, nil
}

func (c *Client) record(ctx context.Context, e schemas.OutboundEntry) error {
	if c.Log == nil {
		return nil
	}
	leaf, err := inquirylog.NewOutboundLeaf(e, c.now())
	if err != nil {
		return err
	}
	_, err = c.Log.AppendOutbound(ctx, leaf)
	return err
}

// open decrypts and verifies a host's answer to claims.
func (c *Client) open(host string, claims schemas.JointRequest, body []byte) (*schemas.JointAnswer, error) {
	bad := func(err error, msg string) error { return schemas.Wrap(schemas.CodePeerBadResponse, err, msg) }
	signed, _, err := jose.Decrypt(body, c.Keys.Encryption)
	if err != nil {
		return nil, bad(err, "answer does not decrypt")
	}
	reg, err := c.Registries.Snapshot(c.now())
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	hdr, err := jose.ParseJWSHeader(signed)
	if err != nil {
		return nil, bad(err, "answer is not a JWS")
	}
	pub, ok := reg.SigningKey(host, hdr.KeyID)
	if !ok {
		return nil, bad(nil, "answer signed with a key the registry does not list for the host")
	}
	payload, _, err := jose.Verify(signed, schemas.TypJointAnswer, pub)
	if err != nil {
		return nil, bad(err, "answer signature does not verify")
	}
	var ans schemas.JointAnswer
	if err := schemas.DecodeStrict(payload, &ans); err != nil {
		return nil, bad(err, "answer malformed")
	}
	if ans.Issuer != host || ans.Audience != c.ID || ans.RequestID != claims.ID || ans.Job != claims.Job {
		return nil, bad(errors.New("answer does not match the request"), "answer does not match the request")
	}
	return &ans, nil
}
