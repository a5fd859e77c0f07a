package openapitest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditexchange/node/schemas"
)

// answer is a test handler answering with a fixed status, type and body.
func answer(status int, contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write([]byte(body))
	})
}

// jws is a compact JWS of type typ (its signature is not checked here).
func jws(typ string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k","typ":"`+typ+`"}`)) + ".eyJhIjoxfQ.c2ln"
}

// jwe is a compact JWE whose content is of type cty.
func jwe(cty string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","cty":"`+cty+`"}`)) + ".a2V5.aXY.Y3Q.dGFn"
}

var (
	read       = jws(schemas.TypSubjectRead)
	subjectLog = jws(schemas.TypSubjectLog)
	query      = jws(schemas.TypQuery)
)

// TestValidatorCatchesDrift: well-formed exchanges pass; each answer or
// request that departs from the document fails, through the client-side
// Transport and through the server-side Handler alike.
func TestValidatorCatchesDrift(t *testing.T) {
	errorBody := func(code schemas.Code) string {
		return fmt.Sprintf(`{"error":{"code":%q,"message":"m"}}`, code)
	}
	cases := []struct {
		name         string
		method, path string
		reqType, req string
		h            http.Handler
		wantFail     bool
	}{
		{"healthz", "GET", "/healthz", "", "", answer(200, schemas.ContentTypeJSON, `{"status":"ok"}`), false},
		{"undocumented status", "GET", "/healthz", "", "", answer(418, schemas.ContentTypeJSON, `{"status":"ok"}`), true},
		{"required field missing", "GET", "/healthz", "", "", answer(200, schemas.ContentTypeJSON, `{}`), true},
		{"unknown field", "GET", "/healthz", "", "", answer(200, schemas.ContentTypeJSON, `{"status":"ok","extra":1}`), true},
		{"undocumented media type", "GET", "/healthz", "", "", answer(200, "text/html", `<p>ok</p>`), true},
		{"error of its status", "GET", "/readyz", "", "", answer(503, schemas.ContentTypeError, errorBody(schemas.CodeStoreUnavailable)), false},
		{"error code of another status", "GET", "/readyz", "", "", answer(503, schemas.ContentTypeError, errorBody(schemas.CodeReplay)), true},
		{"undefined error code", "GET", "/readyz", "", "", answer(503, schemas.ContentTypeError, errorBody("no_such_code")), true},
		{"error body with a stray field", "GET", "/readyz", "", "", answer(503, schemas.ContentTypeError, `{"error":{"code":"internal","message":"m","cause":"x"}}`), true},
		{"unknown route answered not_found", "GET", "/v1/nowhere", "", "", answer(404, schemas.ContentTypeError, errorBody(schemas.CodeNotFound)), false},
		{"unknown route answered 200", "GET", "/v1/nowhere", "", "", answer(200, schemas.ContentTypeJSON, `{}`), true},
		{"member route on the subject listener", "POST", "/v1/query", schemas.ContentTypeJOSE, query, answer(200, schemas.ContentTypeJOSE, jwe(schemas.TypResponse)), true},
		{"signed request, signed answer", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, read, answer(200, schemas.ContentTypeJOSE, subjectLog), false},
		{"answer that is no token", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, read, answer(200, schemas.ContentTypeJOSE, "not a token"), true},
		{"answer of another type", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, read, answer(200, schemas.ContentTypeJOSE, read), true},
		{"answer encrypted where a signed one is documented", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, read, answer(200, schemas.ContentTypeJOSE, jwe(schemas.TypSubjectLog)), true},
		{"request of another type accepted", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, subjectLog, answer(200, schemas.ContentTypeJOSE, subjectLog), true},
		{"request of another type refused", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, subjectLog, answer(401, schemas.ContentTypeError, errorBody(schemas.CodeBadSignature)), false},
		{"bad request refused", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, "not a token", answer(400, schemas.ContentTypeError, errorBody(schemas.CodeMalformedRequest)), false},
		{"bad request accepted", "POST", "/v1/subject/inquiries", schemas.ContentTypeJOSE, "not a token", answer(200, schemas.ContentTypeJOSE, subjectLog), true},
		{"bad query parameter accepted", "GET", "/v1/log/proof/inclusion?index=x&size=2", "", "", answer(200, schemas.ContentTypeJSON, `{"index":0,"size":2,"hashes":[]}`), true},
		{"proof", "GET", "/v1/log/proof/inclusion?index=0&size=2", "", "", answer(200, schemas.ContentTypeJSON, `{"index":0,"size":2,"hashes":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`), false},
		{"revoked", "POST", "/v1/consent/revoke", schemas.ContentTypeJOSE, jws(schemas.TypRevocation), answer(200, schemas.ContentTypeJSON, `{"status":"revoked","consent_id":"c","log_index":3}`), false},
		// const is a JSON Schema 2020-12 keyword (OpenAPI 3.1): it holds
		// only if the 3.1 validator is in use.
		{"revocation answer of another status", "POST", "/v1/consent/revoke", schemas.ContentTypeJOSE, jws(schemas.TypRevocation), answer(200, schemas.ContentTypeJSON, `{"status":"kept","consent_id":"c","log_index":3}`), true},
		{"proof with a short hash", "GET", "/v1/log/proof/inclusion?index=0&size=2", "", "", answer(200, schemas.ContentTypeJSON, `{"index":0,"size":2,"hashes":["AAAA"]}`), true},
	}
	for _, c := range cases {
		for _, side := range []string{"client", "server"} {
			t.Run(side+"/"+c.name, func(t *testing.T) {
				v, err := New(schemas.ListenerSubject, side == "server")
				if err != nil {
					t.Fatal(err)
				}
				var fails []string
				fail := func(args ...any) { fails = append(fails, fmt.Sprint(args...)) }
				h := c.h
				if side == "server" {
					h = Handler(v, fail, h)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				cl := srv.Client()
				if side == "client" {
					cl.Transport = &Transport{Base: cl.Transport, Validator: v, Fail: fail}
				}
				req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.req))
				if err != nil {
					t.Fatal(err)
				}
				if c.reqType != "" {
					req.Header.Set("Content-Type", c.reqType)
				}
				resp, err := cl.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := len(fails) > 0; got != c.wantFail {
					t.Errorf("validation failed: %v, want %v (%v)", got, c.wantFail, fails)
				}
			})
		}
	}
}

// TestMemberRequiresClientCertificate: on the server side, a request to a
// member operation without a client certificate does not match the
// document, so an answer 200 fails.
func TestMemberRequiresClientCertificate(t *testing.T) {
	v, err := New(schemas.ListenerMember, true)
	if err != nil {
		t.Fatal(err)
	}
	var fails []string
	h := Handler(v, func(args ...any) { fails = append(fails, fmt.Sprint(args...)) }, answer(200, schemas.ContentTypeJOSE, jwe(schemas.TypResponse)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/v1/query", schemas.ContentTypeJOSE, strings.NewReader(query))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(fails) == 0 {
		t.Fatal("a member request without a client certificate answered 200 passed")
	}
}
