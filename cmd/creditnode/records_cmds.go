package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

func (a *app) recordsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "records", Short: "Manage the records this node provides"}
	var dir string
	var ic internalClientFlags
	imp := &cobra.Command{
		Use:   "import --dir DIR FILE",
		Short: "Import records from JSON Lines (.jsonl) or CSV (.csv), all or nothing",
		Long: `import validates every line against its category's JSON Schema. If any line is bad, nothing is imported
and every bad line is reported with its line number and reason. Otherwise all lines are imported in one
transaction (records with an existing subject, category and id are replaced).

If the node is running, import never opens the store the node holds: with a client identity
(--client-config FILE, or --client-cert/--client-key/--internal-ca) and --staff it sends the file to
the node's internal API (POST /internal/v1/records/import) as a job and follows it to its end, with the
same rule and the same line-numbered report; without one it says what to run instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(dir)
			if err != nil {
				return err
			}
			if nodeRunning(cfg) {
				return a.recordsImportInternal(cmd.Context(), cfg, &ic, args[0])
			}
			v, err := schemas.NewCategoryValidator()
			if err != nil {
				return err
			}
			st, err := openRecordStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			prog := newCountProgress(a.errOut, "records")
			prog.Note("checking every line of %s", args[0])
			rep, err := records.ImportFile(cmd.Context(), args[0], v, importProgress{st, prog})
			if len(rep.Bad) > 0 {
				for _, b := range rep.Bad {
					fmt.Fprintf(a.out, "%s:%d: %s\n", args[0], b.Line, b.Reason)
				}
				return fmt.Errorf("%d bad line(s); nothing imported", len(rep.Bad))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "imported %d records\n", rep.Imported)
			return nil
		},
	}
	imp.Flags().StringVar(&dir, "dir", "", "node directory")
	imp.MarkFlagRequired("dir")
	ic.register(imp)
	cmd.AddCommand(imp, a.purgeCmd(), a.latePublicationsCmd())
	return cmd
}

func (a *app) queryCmd() *cobra.Command {
	var dir, consentFile, approvalFile string
	var q peer.Query
	var categories string
	var ic internalClientFlags
	cmd := &cobra.Command{
		Use:   "query --dir DIR --provider ID --subject USCC --purpose P --categories C,… [--consent consent.jws] [--approval approval.jws]",
		Short: "Query a provider as this node, and print the verified, decrypted answer",
		Long: `query asks a provider as this node. If the node is not running, it opens the node directory and sends
the query itself. If the node is running, it never opens the store the node holds: with a client identity
(--client-config FILE, or --client-cert/--client-key/--internal-ca) and --staff and --ref it sends the
query through the node's internal API; without one it says what to run instead. --staff and --ref (the
staff member and business reference) go into the outbound log either way; the provider sees only a
digest of the reference.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q.Categories = splitList(categories)
			if consentFile != "" {
				tok, err := readTrimmed(consentFile)
				if err != nil {
					return err
				}
				q.Consent = tok
			}
			if approvalFile != "" {
				tok, err := readTrimmed(approvalFile)
				if err != nil {
					return err
				}
				q.Approval = tok
			}
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.out)
			enc.SetIndent("", "  ")
			if nodeRunning(cfg) {
				cl, who, err := ic.client(cfg, internalapi.OpQuery)
				if err != nil {
					return err
				}
				ans, err := cl.Query(cmd.Context(), who, internalapi.QueryRequest{Provider: q.Provider, Subject: q.Subject,
					Purpose: q.Purpose, Categories: q.Categories, Consent: q.Consent, Approval: q.Approval})
				if err != nil {
					return err
				}
				return enc.Encode(ans)
			}
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			if ic.staff != "" || ic.ref != "" {
				key, err := internalapi.NewOperator(dir).RefKey()
				if err != nil {
					return err
				}
				q.Caller = &peer.Caller{Client: "cli", StaffID: ic.staff, BusinessRef: ic.ref, RefDigest: internalapi.RefDigest(key, ic.ref)}
			}
			res, err := n.Client.Query(cmd.Context(), q)
			if err != nil {
				return err
			}
			return enc.Encode(res.Response)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory")
	f.StringVar(&q.Provider, "provider", "", "provider member id")
	f.StringVar(&q.Subject, "subject", "", "subject USCC or person:ID")
	f.StringVar(&q.Purpose, "purpose", "", "purpose code")
	f.StringVar(&categories, "categories", "", "comma-separated categories")
	f.StringVar(&consentFile, "consent", "", "subject's consent token file")
	f.StringVar(&approvalFile, "approval", "", "regulator's special approval token file (restricted categories)")
	ic.register(cmd)
	for _, n := range []string{"dir", "provider", "subject", "purpose", "categories"} {
		cmd.MarkFlagRequired(n)
	}
	return cmd
}

func (a *app) policyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Work with the embedded OPA policy"}
	var verbose bool
	test := &cobra.Command{
		Use:   "test",
		Short: "Run the policy's Rego tests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := policy.New(cmd.Context(), policy.Options{})
			if err != nil {
				return err
			}
			passed, failed, err := eng.RunTests(cmd.Context(), a.out, verbose)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return silentExit(1)
			}
			return nil
		},
	}
	test.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test")
	cmd.AddCommand(test, a.policyBundleCmd(), a.policyExplainCmd())
	return cmd
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// importProgress says when the checked records go to the store, in one
// transaction that reports no progress of its own.
type importProgress struct {
	records.Importer
	prog *countProgress
}

func (i importProgress) ImportRecords(ctx context.Context, recs []records.Record) error {
	i.prog.Note("all %d records valid; importing them in one transaction", len(recs))
	return i.Importer.ImportRecords(ctx, recs)
}

// recordStore is what `records import` writes to.
type recordStore interface {
	records.Importer
	Close() error
}

// openRecordStore opens the store the node's config names: SQLite or PostgreSQL.
func openRecordStore(ctx context.Context, cfg *config.Config) (recordStore, error) {
	if cfg.StoreIsPostgres() {
		return store.OpenPostgres(ctx, cfg.Store)
	}
	return store.OpenSQLite(ctx, cfg.StorePath())
}

// recordsImportInternal sends the file at path to the running node's
// internal API as an import job and follows the job to its end.
func (a *app) recordsImportInternal(ctx context.Context, cfg *config.Config, ic *internalClientFlags, path string) error {
	format, err := records.FormatFromPath(path)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.Size() > records.MaxFileBytes {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", records.ErrFileTooLarge, path, info.Size(), records.MaxFileBytes)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cl, who, err := ic.client(cfg, internalapi.OpImport)
	if err != nil {
		return err
	}
	ctype := internalapi.ContentTypeJSONL
	if format == records.FormatCSV {
		ctype = internalapi.ContentTypeCSV
	}
	prog := newCountProgress(a.errOut, "records")
	prog.Note("sending %s to %s's internal API", path, cfg.ID)
	var job internalapi.Job
	if err := cl.Send(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteRecordsImport, "POST "), who, ctype, body, &job); err != nil {
		return err
	}
	phase := job.Phase
	job, err = cl.WaitJob(ctx, who, job, func(j internalapi.Job) {
		if j.Phase != phase && j.Phase == "importing" {
			prog.Note("all %d records valid; the node imports them in one transaction", j.Lines)
		}
		phase = j.Phase
	})
	if err != nil {
		return err
	}
	if len(job.BadLines) > 0 {
		for _, b := range job.BadLines {
			fmt.Fprintf(a.out, "%s:%d: %s\n", path, b.Line, b.Reason)
		}
		return fmt.Errorf("%d bad line(s); nothing imported", len(job.BadLines))
	}
	if job.State != internalapi.JobDone {
		return fmt.Errorf("job %s: %s", job.ID, job.Error)
	}
	fmt.Fprintf(a.out, "imported %d records\n", job.Imported)
	return nil
}
