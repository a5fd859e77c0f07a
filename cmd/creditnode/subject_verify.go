package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/schemas"
)

// errNotVerified makes `subject inquiries --verify` exit non-zero.
var errNotVerified = errors.New("the inquiry log did NOT verify as complete")

// inquiryOpts are the verification and export flags of `subject inquiries`.
type inquiryOpts struct {
	verify        bool
	witnesses     int
	export        string
	ageRecipients []string
}

func (o *inquiryOpts) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&o.verify, "verify", false, "verify offline that the entries are ALL your entries up to the provider's signed checkpoint")
	fl.IntVar(&o.witnesses, "witnesses", 0, "with --verify: require cosignatures of the checkpoint by this many other registry members")
	fl.StringVar(&o.export, "export", "", "write the provider-signed log (JSON) and a CSV table into this directory")
	fl.StringArrayVar(&o.ageRecipients, "age-recipient", nil, "with --export: encrypt both files to this age recipient (age1…); repeatable")
}

func (o *inquiryOpts) active() bool { return o.verify || o.export != "" }

// run reads the log, verifies it if asked, prints it and exports it.
func (o *inquiryOpts) run(ctx context.Context, out io.Writer, sc *peer.SubjectClient, certPath, node, provider string) error {
	if o.witnesses < 0 {
		return errors.New("--witnesses must not be negative")
	}
	var recips []age.Recipient
	for _, r := range o.ageRecipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return fmt.Errorf("--age-recipient: %w", err)
		}
		recips = append(recips, rc)
	}
	log, signed, err := sc.InquiriesSigned(ctx, node, provider)
	if err != nil {
		return err
	}
	reg, ok := sc.Registry.(*registry.Registry)
	if !ok {
		return errors.New("no federation registry to verify with")
	}
	cert, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	// threats.md 29: the log must be the one of the subject this key is certified for.
	if _, err := subjectcheck.Own(log, cert, reg, time.Now()); err != nil {
		return err
	}
	printInquiries(out, log)
	var res *subjectlog.Result
	var verr error
	if o.verify {
		res, verr = subjectcheck.Complete(log, reg, o.witnesses)
		printVerification(out, res, verr, o.witnesses)
	}
	if o.export != "" {
		verified := res
		if verr != nil {
			verified = nil // export the log, not a claim that it verified
		}
		if err := exportLog(o.export, provider, log, signed, verified, recips); err != nil {
			return err
		}
		fmt.Fprintf(out, "exported to %s\n", o.export)
	}
	if verr != nil {
		return errNotVerified
	}
	return nil
}

func printVerification(w io.Writer, res *subjectlog.Result, err error, k int) {
	if err != nil {
		fmt.Fprintf(w, "completeness: FAILED: %v\n", err)
		return
	}
	cp := res.Checkpoint
	fmt.Fprintf(w, "completeness: VERIFIED: %d entries are all of yours in %s up to size %d (root %x…)\n",
		res.Committed, cp.Origin, cp.Size, cp.Hash[:8])
	if res.Pending > 0 {
		fmt.Fprintf(w, "pending: %d entries logged after that checkpoint (verify again later)\n", res.Pending)
	}
	if len(res.Witnesses) == 0 {
		fmt.Fprintf(w, "witnesses: none (required %d)\n", k)
	} else {
		fmt.Fprintf(w, "witnesses: %s (required %d)\n", strings.Join(res.Witnesses, ", "), k)
	}
}

// export is the JSON export: the provider-signed pages as received (what
// verifies), with the log they make for reading. Format v2 (v1 held one
// signed_log token, from before logs were read in pages).
type export struct {
	Format     string    `json:"format"`
	Provider   string    `json:"provider"`
	ExportedAt time.Time `json:"exported_at"`
	// SignedPages are the provider-signed pages of the walk, in the order
	// read (compact JWS each): subjectcheck.Check verifies them together.
	SignedPages []string            `json:"signed_pages"`
	Verified    *bool               `json:"verified_complete,omitempty"`
	Log         *schemas.SubjectLog `json:"log"`
}

func exportLog(dir, provider string, log *schemas.SubjectLog, signed [][]byte, res *subjectlog.Result, recips []age.Recipient) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ex := export{Format: "creditexchange-subject-log/v2", Provider: provider, ExportedAt: time.Now().UTC(), SignedPages: make([]string, len(signed)), Log: log}
	for i, p := range signed {
		ex.SignedPages[i] = string(p)
	}
	if res != nil {
		ok := true
		ex.Verified = &ok
	}
	js, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"index", "time", "kind", "inquirer", "organisation", "purpose", "categories", "decision", "code", "committed"})
	for _, e := range log.Entries {
		en := e.Entry
		committed := "unverified"
		if res != nil {
			committed = "yes"
			if e.Index >= res.Checkpoint.Size {
				committed = "pending"
			}
		}
		cw.Write([]string{strconv.FormatUint(e.Index, 10), en.Time, en.Kind, en.Requester, en.RequesterOrg, en.Purpose,
			strings.Join(en.Categories, ";"), en.Decision, string(en.Code), committed})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	base := filepath.Join(dir, provider+"-inquiries")
	if err := writeMaybeAge(base+".json", append(js, '\n'), recips); err != nil {
		return err
	}
	return writeMaybeAge(base+".csv", buf.Bytes(), recips)
}

// writeMaybeAge writes data to path, or age-encrypted to path+".age".
func writeMaybeAge(path string, data []byte, recips []age.Recipient) error {
	if len(recips) == 0 {
		return os.WriteFile(path, data, 0o600)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recips...)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".age", buf.Bytes(), 0o600)
}
