// Package openapitest holds tests to the OpenAPI contract (schemas/openapi.yaml):
// a Validator checks one exchange (request and answer) against one
// listener's part of the document with kin-openapi's openapi3filter, and
// Transport (client side) and Handler (server side) run it on every exchange
// passing through them. Only tests use this package.
package openapitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/creditexchange/node/schemas"
)

func init() {
	// Bodies the library has no decoder for: compact JOSE tokens are text
	// (their schema is a pattern), age files are binary, OpenMetrics, HTML
	// reports and CSV imports are text.
	openapi3filter.RegisterBodyDecoder(schemas.ContentTypeJOSE, openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/vnd.age", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/openmetrics-text", openapi3filter.PlainBodyDecoder)
}

// Validator checks exchanges on one listener against its part of the
// document.
type Validator struct {
	listener string
	doc      *openapi3.T
	routes   []route
	// server is true when requests are seen by the server (their TLS state
	// holds the client's certificate).
	server bool
}

type route struct {
	segments []string
	r        *routers.Route
}

// New makes a Validator for listener (schemas.ListenerMember, …). server
// tells whether it sees requests as a server does (Handler) or as a
// client sends them (Transport).
func New(listener string, server bool) (*Validator, error) {
	doc, err := schemas.ListenerOpenAPI(listener)
	if err != nil {
		return nil, err
	}
	v := &Validator{listener: listener, doc: doc, server: server}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			v.routes = append(v.routes, route{segments: strings.Split(path, "/"),
				r: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}})
		}
	}
	return v, nil
}

// find matches a request to an operation of the document.
func (v *Validator) find(method, path string) (*routers.Route, map[string]string) {
	segs := strings.Split(path, "/")
	for _, rt := range v.routes {
		if rt.r.Method != method || len(rt.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range rt.segments {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && segs[i] != "":
				params[s[1:len(s)-1]] = segs[i]
			case s != segs[i]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			return rt.r, params
		}
	}
	return nil, nil
}

// Check validates one exchange: the request (with its body) and the answer.
// A request the document does not describe (no operation, or a request not
// matching its operation's parameters, body or security) must be answered
// with a documented error: not_found for an unknown route, a 4xx error
// documented for the operation otherwise. Every answer must have a status
// documented for its operation, with a body of the documented media type
// and schema; an error body's code must be one its status carries.
func (v *Validator) Check(ctx context.Context, r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	rt, params := v.find(r.Method, r.URL.Path)
	if rt == nil {
		if status != http.StatusNotFound {
			return fmt.Errorf("%s listener: %s %s is not in the document but was answered %d", v.listener, r.Method, r.URL.Path, status)
		}
		return v.checkError(status, header, body)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: v.authenticate}
	rq := r.Clone(ctx)
	rq.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: rq, PathParams: params, Route: rt, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr == nil && rt.Operation.RequestBody != nil {
		reqErr = checkJOSE(rt.Operation.RequestBody.Value.Content, r.Header, reqBody)
	}
	rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	rv.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, rv); err != nil {
		return fmt.Errorf("%s listener: answer %d to %s %s: %w", v.listener, status, r.Method, r.URL.Path, err)
	}
	if status == http.StatusOK {
		if err := checkJOSE(rt.Operation.Responses.Value("200").Value.Content, header, body); err != nil {
			return fmt.Errorf("%s listener: answer to %s %s: %w", v.listener, r.Method, r.URL.Path, err)
		}
	}
	if reqErr != nil && (status < 400 || status > 499) {
		return fmt.Errorf("%s listener: %s %s does not match the document (%v) but was answered %d", v.listener, r.Method, r.URL.Path, reqErr, status)
	}
	return nil
}

// ExtJOSE is the media-type extension naming the token a JOSE body holds:
// {typ: the JWS typ, encrypted: true for a JWE whose cty is that typ}.
const ExtJOSE = "x-jose"

// checkJOSE checks a compact token body against the x-jose extension of its
// media type, if any: the number of parts and the typ (or, encrypted, cty)
// of its protected header.
func checkJOSE(content openapi3.Content, header http.Header, body []byte) error {
	ct := header.Get("Content-Type")
	if !strings.HasPrefix(ct, schemas.ContentTypeJOSE) {
		return nil
	}
	mt := content.Get(ct)
	if mt == nil {
		return nil
	}
	ext, ok := mt.Extensions[ExtJOSE].(map[string]any)
	if !ok {
		return nil
	}
	typ, _ := ext["typ"].(string)
	encrypted, _ := ext["encrypted"].(bool)
	parts := strings.Split(string(body), ".")
	want, key := 3, "typ"
	if encrypted {
		want, key = 5, "cty"
	}
	if len(parts) != want {
		return fmt.Errorf("token of %d parts, want %d", len(parts), want)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("token header: %w", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("token header: %w", err)
	}
	if h[key] != typ {
		return fmt.Errorf("token header %s %v, want %q", key, h[key], typ)
	}
	return nil
}

// checkError validates an error answer against the error body of its status.
func (v *Validator) checkError(status int, header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); ct != schemas.ContentTypeError {
		return fmt.Errorf("%s listener: error answer %d of type %q", v.listener, status, ct)
	}
	ref := v.doc.Components.Schemas[fmt.Sprintf("ErrorBody%d", status)]
	if ref == nil {
		return fmt.Errorf("%s listener: no error body documented for status %d", v.listener, status)
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("%s listener: error body: %w", v.listener, err)
	}
	if err := ref.Value.VisitJSON(val, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("%s listener: error body %d: %w", v.listener, status, err)
	}
	return nil
}

// authenticate stands for the security schemes: on the server side a
// mutual-TLS request carries a client certificate; a subject's signature
// is inside the body, whose form the body's schema checks (the node checks
// the signature itself).
func (v *Validator) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	switch in.SecuritySchemeName {
	case "mutualTLS", "internalClientTLS":
		// The federation's member certificates, or the certificates the
		// node operator issued to the organisation's own systems.
		r := in.RequestValidationInput.Request
		if v.server && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
			return errors.New("no client certificate")
		}
		return nil
	case "subjectSignature":
		return nil
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}

// Transport is a RoundTripper validating every exchange it carries; Fail
// receives each failure (tests pass t.Error).
type Transport struct {
	Base      http.RoundTripper
	Validator *Validator
	Fail      func(args ...any)
}

// RoundTrip sends r through Base and validates the exchange.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var reqBody []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := t.Base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := t.Validator.Check(r.Context(), r, reqBody, resp.StatusCode, resp.Header, body); err != nil {
		t.Fail(err)
	}
	return resp, nil
}

// Handler validates every exchange h serves; Fail receives each failure.
func Handler(v *Validator, fail func(args ...any), h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				fail(fmt.Errorf("%s %s: reading the request: %w", r.Method, r.URL.Path, err))
			}
			reqBody = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if err := v.Check(r.Context(), r, reqBody, rec.status, w.Header(), rec.body.Bytes()); err != nil {
			fail(err)
		}
	})
}

// recorder passes an answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Wrap is a function for node.Node's Wrap: each listener's handler checks
// every exchange it serves against that listener's part of the document
// (an operation of a listener the document does not name is answered
// not_found or fails). fail receives every failure.
func Wrap(fail func(args ...any)) func(listener string, h http.Handler) http.Handler {
	return func(listener string, h http.Handler) http.Handler {
		v, err := New(listener, true)
		if err != nil {
			fail(fmt.Errorf("%s listener: %w", listener, err))
			return h
		}
		return Handler(v, fail, h)
	}
}
