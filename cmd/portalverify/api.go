//go:build js && wasm

package main

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall/js"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/schemas"
)

// verifier holds the registry the page loaded and verified.
type verifier struct {
	reg *registry.Registry
}

func (v *verifier) exports() js.Value {
	o := js.Global().Get("Object").New()
	o.Set("loadRegistry", jsonFunc(v.loadRegistry))
	o.Set("openKey", jsonFunc(v.openKey))
	o.Set("publicJWK", jsonFunc(v.publicJWK))
	o.Set("certInfo", jsonFunc(v.certInfo))
	o.Set("checkLog", jsonFunc(v.checkLog))
	o.Set("subjectRead", promiseFunc(v.subjectRead))
	o.Set("revoke", promiseFunc(v.revoke))
	o.Set("grant", promiseFunc(v.grant))
	o.Set("object", promiseFunc(v.object))
	o.Set("repair", promiseFunc(v.repair))
	o.Set("rightsStatus", promiseFunc(v.rightsStatus))
	o.Set("openRights", jsonFunc(v.openRights))
	o.Set("reportRequest", promiseFunc(v.reportRequest))
	o.Set("openReport", jsonFunc(v.openReport))
	return o
}

// jsonFunc exports f: its result is returned as a JSON string, an error as
// {"error": "…"}.
func jsonFunc(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		return encode(f(args))
	})
}

// promiseFunc exports f, which may wait on the browser (WebCrypto), as a
// function returning a Promise of the JSON string jsonFunc would return.
// f runs on its own goroutine: a Go function called from JavaScript must
// not block the event loop that resolves the promises it waits on.
func promiseFunc(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		var executor js.Func
		executor = js.FuncOf(func(_ js.Value, pa []js.Value) any {
			resolve := pa[0]
			go func() {
				resolve.Invoke(encode(f(args)))
				executor.Release()
			}()
			return nil
		})
		return js.Global().Get("Promise").New(executor)
	})
}

func encode(v any, err error) string {
	if err != nil {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		return string(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return string(b)
}

func arg(args []js.Value, i int) string {
	if i >= len(args) || args[i].Type() != js.TypeString {
		return ""
	}
	return args[i].String()
}

func argTime(args []js.Value, i int) time.Time {
	if i >= len(args) || args[i].Type() != js.TypeNumber {
		return time.Now()
	}
	return time.UnixMilli(int64(args[i].Float()))
}

type member struct {
	ID             string   `json:"id"`
	Organisation   string   `json:"organisation"`
	Roles          []string `json:"roles"`
	PublicEndpoint string   `json:"public_endpoint"`
}

// loadRegistry(token, authorityJWK, nowMillis) verifies the signed registry
// under the federation authority key and keeps it for the other functions.
func (v *verifier) loadRegistry(args []js.Value) (any, error) {
	auth, _, err := keys.ParseSigningJWK([]byte(arg(args, 1)))
	if err != nil {
		return nil, fmt.Errorf("federation authority key: %w", err)
	}
	reg, err := registry.Verify([]byte(arg(args, 0)), auth, argTime(args, 2))
	if err != nil {
		return nil, err
	}
	v.reg = reg
	doc := reg.Doc()
	out := struct {
		Federation string    `json:"federation"`
		Serial     int64     `json:"serial"`
		ExpiresAt  time.Time `json:"expires_at"`
		Members    []member  `json:"members"`
	}{Federation: doc.Federation, Serial: doc.Serial, ExpiresAt: doc.ExpiresAt}
	for _, m := range doc.Members {
		out.Members = append(out.Members, member{ID: m.ID, Organisation: m.Organisation, Roles: m.Roles, PublicEndpoint: m.PublicEndpoint})
	}
	return out, nil
}

// openKey(pem) parses a key file made by `creditnode subject keygen` (the
// CLI's parser) and returns its public key, so that the page can check it
// against the certificate; the page imports the private key into WebCrypto
// itself, as non-extractable.
func (v *verifier) openKey(args []js.Value) (any, error) {
	priv, err := keys.ParseSigningKey([]byte(arg(args, 0)))
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	return map[string]string{"x": base64.RawURLEncoding.EncodeToString(pub), "kid": keys.SigningKID(pub)}, nil
}

// publicJWK(publicX) is the public JWK of a key generated in the browser,
// as `subject keygen` writes it to KEY.jwk: the enrolment request a
// registrar certifies with `subject enrol --pub`, after its identity check.
func (v *verifier) publicJWK(args []js.Value) (any, error) {
	pub, err := publicKey(arg(args, 0))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(keys.SigningJWK(pub))
	if err != nil {
		return nil, err
	}
	if _, _, err := keys.ParseSigningJWK(b); err != nil { // the registrar's parser accepts it
		return nil, err
	}
	return map[string]string{"jwk": string(b), "kid": keys.SigningKID(pub)}, nil
}

// certInfo(cert, publicX, nowMillis) verifies a subject certificate under
// the loaded registry and says whether it certifies publicX.
func (v *verifier) certInfo(args []js.Value) (any, error) {
	if v.reg == nil {
		return nil, errors.New("no verified registry")
	}
	cert, err := consent.VerifySubjectCert([]byte(arg(args, 0)), v.reg, argTime(args, 2), time.Minute)
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(arg(args, 1))
	if err != nil {
		return nil, err
	}
	c := cert.Claims
	return map[string]any{
		"subject": c.Subject, "subject_type": c.SubjectType, "registrar": c.Issuer, "id": c.ID,
		"issued_at": c.IssuedAt, "expires_at": c.Expiry, "key_matches": cert.Key.Equal(pub),
	}, nil
}

type entry struct {
	Provider     string   `json:"provider"`
	Index        uint64   `json:"index"`
	Time         string   `json:"time"`
	Kind         string   `json:"kind"`
	Requester    string   `json:"requester,omitempty"`
	RequesterOrg string   `json:"requester_org,omitempty"`
	Purpose      string   `json:"purpose,omitempty"`
	Categories   []string `json:"categories,omitempty"`
	Decision     string   `json:"decision"`
	Code         string   `json:"code,omitempty"`
	Reasons      []string `json:"reasons,omitempty"`
	ConsentID    string   `json:"consent_id,omitempty"`
	Record       string   `json:"record,omitempty"`
	Outcome      string   `json:"outcome,omitempty"`
	Pending      bool     `json:"pending"`
}

// checkLog(pages, provider, cert, witnesses, nowMillis) verifies a
// provider's answers to the page reads of one walk (pages: a JSON array of
// the signed answers, in the order read) as `subject inquiries --verify`
// does (subjectcheck.Check). "verified" is true only if the completeness
// check passed; otherwise "failed_check" and "error" say what failed. An
// answer whose signature or subject is wrong, or pages that do not form
// one walk, are an error: their entries are not shown as the subject's.
func (v *verifier) checkLog(args []js.Value) (any, error) {
	if v.reg == nil {
		return nil, errors.New("no verified registry")
	}
	k := 0
	if len(args) > 3 && args[3].Type() == js.TypeNumber {
		k = args[3].Int()
	}
	provider := arg(args, 1)
	var pages []string
	if err := json.Unmarshal([]byte(arg(args, 0)), &pages); err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	toks := make([][]byte, len(pages))
	for i, p := range pages {
		toks[i] = []byte(p)
	}
	rep, err := subjectcheck.Check(toks, provider, v.reg, []byte(arg(args, 2)), argTime(args, 4), k)
	if err != nil {
		return nil, err
	}
	out := struct {
		Verified  bool     `json:"verified"`
		Failed    string   `json:"failed_check,omitempty"`
		Error     string   `json:"error_detail,omitempty"`
		Committed int      `json:"committed"`
		Pending   int      `json:"pending"`
		Size      uint64   `json:"checkpoint_size"`
		Witnesses []string `json:"witnesses"`
		Subject   string   `json:"subject"`
		ReadIndex *uint64  `json:"read_index,omitempty"`
		Entries   []entry  `json:"entries"`
		Origin    string   `json:"checkpoint_origin,omitempty"`
		Pages     int      `json:"pages"`
	}{Subject: rep.Log.Subject, Witnesses: []string{}, Entries: []entry{}, Pages: len(toks)}
	size := uint64(0)
	if rep.Incomplete != nil {
		out.Failed = subjectcheck.FailedCheck(rep.Incomplete)
		out.Error = rep.Incomplete.Error()
	} else {
		out.Verified = true
		size = rep.Result.Checkpoint.Size
		out.Size = size
		out.Committed, out.Pending = rep.Result.Committed, rep.Result.Pending
		out.Witnesses = append(out.Witnesses, rep.Result.Witnesses...)
		out.Origin = rep.Result.Checkpoint.Origin
	}
	if rep.Log.Receipt != nil {
		idx := rep.Log.Receipt.LogIndex
		out.ReadIndex = &idx
	}
	for _, e := range rep.Log.Entries {
		en := e.Entry
		out.Entries = append(out.Entries, entry{
			Provider: provider, Index: e.Index, Time: en.Time, Kind: en.Kind, Requester: en.Requester,
			RequesterOrg: en.RequesterOrg, Purpose: en.Purpose, Categories: en.Categories, Decision: en.Decision,
			Code: string(en.Code), Reasons: en.Reasons, ConsentID: en.ConsentID, Record: en.Record, Outcome: en.Outcome,
			Pending: out.Verified && e.Index >= size,
		})
	}
	return out, nil
}

// subjectRead(cert, publicX, provider, nowMillis, sign, page) makes the
// signed read request of one page `subject inquiries` sends
// (consent.SubjectReadPage), signing with sign: a function from the
// signing input to a Promise of the Ed25519 signature (WebCrypto). page is
// the JSON of a schemas.SubjectPageRequest ({"from", "limit",
// "checkpoint"}), or empty for the first page.
func (v *verifier) subjectRead(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 4)
	if err != nil {
		return nil, err
	}
	var page *schemas.SubjectPageRequest
	if p := arg(args, 5); p != "" {
		page = new(schemas.SubjectPageRequest)
		dec := json.NewDecoder(strings.NewReader(p))
		dec.DisallowUnknownFields()
		if err := dec.Decode(page); err != nil {
			return nil, fmt.Errorf("page: %w", err)
		}
	}
	tok, err := consent.SubjectReadPage(s, []byte(arg(args, 0)), arg(args, 2), page, argTime(args, 3))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok)}, nil
}

// revoke(cert, publicX, provider, consentID, nowMillis, sign) makes the
// signed revocation `consent revoke` sends (consent.Revoke).
func (v *verifier) revoke(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 5)
	if err != nil {
		return nil, err
	}
	tok, err := consent.Revoke(s, []byte(arg(args, 0)), arg(args, 2), arg(args, 3), argTime(args, 4))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok)}, nil
}

// grant(cert, publicX, claimsJSON, nowMillis, sign) makes a consent as
// `consent grant` does (consent.Grant) from claims: requester, providers,
// purpose, categories, expiry (Unix seconds), max_uses.
func (v *verifier) grant(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 4)
	if err != nil {
		return nil, err
	}
	var c schemas.ConsentClaims
	dec := json.NewDecoder(strings.NewReader(arg(args, 2)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	tok, err := consent.Grant(s, []byte(arg(args, 0)), c, argTime(args, 3))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok), "id": consentID(tok)}, nil
}

// object(cert, publicX, provider, category, recordID, reason, nowMillis,
// sign) makes the signed objection `subject object` sends (consent.Object).
func (v *verifier) object(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 7)
	if err != nil {
		return nil, err
	}
	tok, err := consent.Object(s, []byte(arg(args, 0)), arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5), argTime(args, 6))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok)}, nil
}

// repair(cert, publicX, provider, category, recordID, reason, nowMillis,
// sign) makes the signed credit-repair application `subject repair` sends
// (consent.ApplyRepair).
func (v *verifier) repair(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 7)
	if err != nil {
		return nil, err
	}
	tok, err := consent.ApplyRepair(s, []byte(arg(args, 0)), arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5), argTime(args, 6))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok)}, nil
}

// rightsStatus(cert, publicX, provider, nowMillis, sign) makes the signed
// request for the subject's objections and repairs (consent.RightsStatus).
func (v *verifier) rightsStatus(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 4)
	if err != nil {
		return nil, err
	}
	tok, err := consent.RightsStatus(s, []byte(arg(args, 0)), arg(args, 2), argTime(args, 3))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok)}, nil
}

// openRights(answer, provider, subject) verifies a provider's signed list
// of the subject's objections and repairs (subjectcheck.OpenRights, as
// `subject rights` does), and that it is the list of subject.
func (v *verifier) openRights(args []js.Value) (any, error) {
	if v.reg == nil {
		return nil, errors.New("no verified registry")
	}
	out, err := subjectcheck.OpenRights([]byte(arg(args, 0)), arg(args, 1), v.reg)
	if err != nil {
		return nil, err
	}
	if out.Subject != arg(args, 2) {
		return nil, fmt.Errorf("the provider answered with the rights of %q", out.Subject)
	}
	return out, nil
}

// reportRequest(cert, publicX, provider, nowMillis, sign) makes the signed
// request for the subject's own credit report `subject report` sends
// (consent.ReportRequest). The provider answering it spends one of the
// subject's free reports of the year.
func (v *verifier) reportRequest(args []js.Value) (any, error) {
	s, err := newBrowserSigner(arg(args, 1), args, 4)
	if err != nil {
		return nil, err
	}
	tok, err := consent.ReportRequest(s, []byte(arg(args, 0)), arg(args, 2), argTime(args, 3))
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": string(tok)}, nil
}

// openReport(answer, provider, subject) verifies a provider's signed credit
// report (subjectcheck.OpenReport, as `subject report` does) under the
// loaded registry, and that it is the report of subject: another subject's
// records are not shown as the reader's.
func (v *verifier) openReport(args []js.Value) (any, error) {
	if v.reg == nil {
		return nil, errors.New("no verified registry")
	}
	out, err := subjectcheck.OpenReport([]byte(arg(args, 0)), arg(args, 1), v.reg)
	if err != nil {
		return nil, err
	}
	if out.Subject != arg(args, 2) {
		return nil, fmt.Errorf("the provider answered with the report of %q", out.Subject)
	}
	if out.Records == nil {
		out.Records = []schemas.RecordOut{}
	}
	return out, nil
}

// consentID reads the jti of a consent this page has just signed.
func consentID(tok []byte) string {
	parts := strings.Split(string(tok), ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ID string `json:"jti"`
	}
	json.Unmarshal(raw, &c)
	return c.ID
}

func publicKey(x string) (ed25519.PublicKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not an Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}

// browserSigner is a crypto.Signer whose private key is a non-extractable
// WebCrypto key in the browser: Sign hands the message to a JavaScript
// function and waits for its Promise. It must be called off the event loop
// (promiseFunc's goroutine).
type browserSigner struct {
	pub  ed25519.PublicKey
	sign js.Value
}

func newBrowserSigner(x string, args []js.Value, i int) (*browserSigner, error) {
	pub, err := publicKey(x)
	if err != nil {
		return nil, err
	}
	if i >= len(args) || args[i].Type() != js.TypeFunction {
		return nil, errors.New("no signing function")
	}
	return &browserSigner{pub: pub, sign: args[i]}, nil
}

func (s *browserSigner) Public() crypto.PublicKey { return s.pub }

func (s *browserSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != 0 {
		return nil, errors.New("Ed25519 signs the message itself, not a digest")
	}
	in := js.Global().Get("Uint8Array").New(len(msg))
	js.CopyBytesToJS(in, msg)
	type result struct {
		sig []byte
		err error
	}
	done := make(chan result, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, a []js.Value) any {
		u := js.Global().Get("Uint8Array").New(a[0])
		b := make([]byte, u.Length())
		js.CopyBytesToGo(b, u)
		done <- result{sig: b}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, a []js.Value) any {
		msg := "signing refused"
		if len(a) > 0 {
			msg = a[0].Call("toString").String()
		}
		done <- result{err: errors.New(msg)}
		return nil
	})
	defer onOK.Release()
	defer onErr.Release()
	s.sign.Invoke(in).Call("then", onOK, onErr)
	r := <-done
	if r.err != nil {
		return nil, r.err
	}
	if len(r.sig) != ed25519.SignatureSize || !ed25519.Verify(s.pub, msg, r.sig) {
		return nil, errors.New("the browser's key did not sign as the certified key")
	}
	return r.sig, nil
}
