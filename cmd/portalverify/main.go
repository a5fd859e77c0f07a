//go:build js && wasm

// Command portalverify is the subject portal's verifier, compiled to
// WebAssembly (GOOS=js GOARCH=wasm) and embedded in node/portal/assets. It
// runs in the subject's browser the same Go code the command line runs:
// the registry's signature (registry.Verify), the subject certificate
// (consent.VerifySubjectCert), the subject's signed requests
// (consent.SubjectRead, signed by a WebCrypto key the browser holds) and a
// provider's answer (subjectcheck.Check, as `subject inquiries --verify`).
//
// It sets one global object, creditnodeVerifier, whose functions take and
// return strings (JSON) so the page's script stays free of Go types; see
// api.go for each function.
package main

import "syscall/js"

func main() {
	v := &verifier{}
	js.Global().Set("creditnodeVerifier", v.exports())
	select {} // keep the functions alive for the page's lifetime
}
