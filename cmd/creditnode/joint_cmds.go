package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/crypto/paillier"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/modeldir"
)

// The joint command has two modes. In process (--hosts NAME=FILE): the guest and every host
// run in this process from CSV files, a local federation for trying models out. Between nodes
// (--dir DIR): this node is the guest and the hosts are member nodes serving jobs over the
// member API under their own policy and inquiry log (joint_network.go).

const jointLong = `Joint modelling: a credit model over a bank's labels (the guest) and departments' features (the
hosts), trained without exchanging records: PSI alignment on blinded identifiers, binning against
encrypted labels, logistic regression with Paillier-encrypted gradients (see node/joint).

Two modes:
  between nodes  --dir DIR: this node is the guest; the hosts are member nodes (--hosts tax-dept,…)
                 that serve jobs over the mutual-TLS member API, decide each request by their policy
                 and log it in their inquiry log. A host serves jobs only if its node directory holds
                 joint/features.csv (first column the enterprise's USCC, then numeric columns named
                 CATEGORY.FEATURE, e.g. tax_payment.arrears_months; a job sees only its categories'
                 columns; read again when it changes, no restart) and, optionally, joint/host.json
                 (min_cohort, min_bin, max_iterations; read at start).
  in process     --hosts NAME=FILE,…: the guest and every host run in this process from CSV files (a
                 local federation for trying a model out); every message still goes through its wire
                 encoding.`

// jointRunFlags are the options of "joint run".
type jointRunFlags struct {
	data, label, out               string
	hostSpecs                      []string
	minCohort, iterations, maxBins int
	batchSize                      int
	insecureBits                   int
	lr, l2, testFraction           float64
	seed                           uint64
	guestName                      string              // in process
	node, job, labelDef            string              // between nodes
	categories                     []string            // between nodes
	ic                             internalClientFlags // between nodes, when the node is running
}

// key generates the guest's Paillier key, saying so on the progress stream.
func (f *jointRunFlags) key(p *jointProgress) (*paillier.PrivateKey, error) {
	opts := paillier.Options{}
	if f.insecureBits > 0 {
		opts = paillier.Options{Bits: f.insecureBits, AllowInsecureSize: true}
	}
	p.Note("generating a %d-bit Paillier key", cmp.Or(f.insecureBits, paillier.DefaultBits))
	return paillier.GenerateKey(opts)
}

func (f *jointRunFlags) guestOptions(sk *paillier.PrivateKey, p *jointProgress) joint.GuestOptions {
	return joint.GuestOptions{
		MinCohort: f.minCohort, Key: sk, Iterations: f.iterations, TestFraction: f.testFraction, SplitSeed: f.seed,
		Params: joint.TrainParams{MaxBins: f.maxBins, LearningRate: f.lr, L2: f.l2, BatchSize: f.batchSize}, Progress: p.Step,
	}
}

// jointScoreFlags are the options of "joint score".
type jointScoreFlags struct {
	model, data, label, applicant string
	hostSpecs                     []string            // in process
	node                          string              // between nodes
	consents                      []string            // between nodes
	ic                            internalClientFlags // between nodes, when the node is running
}

func (a *app) jointCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "joint",
		Short: "Joint modelling: a credit model over a bank's labels and departments' features, without exchanging records",
		Long:  jointLong,
	}

	var rf jointRunFlags
	run := &cobra.Command{
		Use:   "run (--dir DIR --hosts ID[,…] --categories CAT[,…] --label-definition TEXT | --hosts NAME=FILE[,…]) --data guest.csv --out DIR",
		Short: "Train a vertical logistic regression and write the model and an HTML report",
		Long: `run trains a joint model between the guest (the label holder, whose CSV has an id column, a label
column and features) and its hosts, and writes DIR/model.json (the guest's part of the model and the
figures) and DIR/report.html (ROC curve, AUC, KS, the IV table and the leakage table). Progress goes to
stderr: a bar on a terminal, plain lines otherwise. The guest sees only aggregates and partial scores;
each host only blinded identifiers, Paillier ciphertexts and masked aggregates.

Between nodes (--dir DIR, this node's directory, as for query): the guest's ids are USCCs. If the
node is running, run never opens its store: with a client identity (--client-config FILE, or
--client-cert/--client-key/--internal-ca) and --staff, the node runs the job through its internal API
(POST /internal/v1/joint/jobs), keeps the model in DIR/joint/models/JOB, and run follows the job and
writes the model and report to --out. The job
(a fresh id, or --job) is proposed to every host for --categories (CAT for every host, HOST:CAT for
one), with the label's definition; each host decides by its policy (a category it does not open to
joint_modeling without per-subject consent is refused, e.g. consent_missing), logs every request and
every enterprise whose data it uses, and keeps its part of the model for "joint score --dir". If the
run fails or is interrupted (Ctrl-C), the job is cancelled at the hosts, which erase its state. A host
serves jobs from joint/features.csv in its node directory (see "creditnode joint --help") and refuses
Paillier keys below 2048 bits unless its joint/host.json allows them (tests only).

In process (--hosts NAME=FILE): each host's CSV has an id column and features; each host's part of
the model is written to DIR/hosts/NAME.json.`,
		Example: `  # between nodes: bank-a is the guest, market-reg a host node (registration is public there)
  creditnode joint run --dir fed/bank-a --hosts market-reg --categories registration \
    --label-definition "90 days past due within 12 months" --data loans.csv --out model
  # in process, from CSV files
  creditnode joint run --data loans.csv --hosts tax-dept=tax.csv --out model`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rf.data == "" || rf.out == "" {
				return fmt.Errorf("--data and --out are required")
			}
			if rf.node != "" {
				if cmd.Flags().Changed("guest") {
					return fmt.Errorf("--guest is for the in-process mode: with --dir the guest is that node")
				}
				return a.jointRunNetwork(cmd, &rf)
			}
			for _, name := range []string{"categories", "job", "label-definition"} {
				if cmd.Flags().Changed(name) {
					return fmt.Errorf("--%s needs --dir (the mode between nodes)", name)
				}
			}
			return a.jointRunLocal(cmd.Context(), &rf)
		},
	}
	f := run.Flags()
	f.StringVar(&rf.node, "dir", "", "between nodes: this (the guest) node's directory")
	f.StringArrayVar(&rf.hostSpecs, "hosts", nil, "between nodes: host member ids; in process: NAME=FILE (CSV: id column, features); repeat or separate with commas")
	f.StringArrayVar(&rf.categories, "categories", nil, "between nodes: the hosts' categories the job uses, CAT (every host) or HOST:CAT; repeat or separate with commas")
	f.StringVar(&rf.labelDef, "label-definition", "", "between nodes: what the label means, sent to the hosts (e.g. \"90 days past due within 12 months\")")
	f.StringVar(&rf.job, "job", "", "between nodes: the job id (default: a fresh one)")
	f.StringVar(&rf.guestName, "guest", "guest", "in process: name of the guest (label holder)")
	f.StringVar(&rf.data, "data", "", "guest CSV: id column, label column, features")
	f.StringVar(&rf.label, "label", "y", "name of the label column (0/1)")
	f.StringVar(&rf.out, "out", "", "directory for model.json and report.html (and hosts/ in process)")
	f.IntVar(&rf.minCohort, "min-cohort", joint.DefaultMinCohort, "smallest intersection (and training cohort) accepted")
	f.IntVar(&rf.iterations, "iterations", 50, "gradient steps, each over one batch")
	f.IntVar(&rf.batchSize, "batch-size", 0, "members per gradient step (mini-batches, at least the hosts' minimum cohort); 0 is the whole training cohort")
	f.IntVar(&rf.maxBins, "max-bins", 10, "quantile bins per feature before merging small bins")
	f.Float64Var(&rf.lr, "learning-rate", 0.5, "gradient step size")
	f.Float64Var(&rf.l2, "l2", 0.01, "ridge penalty")
	f.Float64Var(&rf.testFraction, "test-fraction", 0.3, "share of the intersection held out for evaluation")
	f.Uint64Var(&rf.seed, "seed", 1, "seed of the train/test split")
	f.IntVar(&rf.insecureBits, "insecure-key-bits", 0, "TESTS ONLY: a Paillier modulus smaller than 2048 bits")
	rf.ic.register(run)

	var sf jointScoreFlags
	score := &cobra.Command{
		Use:   "score (--dir DIR --consent FILE… | --hosts NAME=FILE[,…]) --model DIR --data guest.csv --applicant ID",
		Short: "Score one applicant: each host contributes only its partial score",
		Long: `score computes an applicant's probability of default with a model written by "joint run": the
guest adds its own part (from the applicant's row in --data; the label column may be absent) to each
host's partial score; no host reveals features.

Between nodes (--dir DIR, for a model trained with --dir): each host of the model checks the
applicant's consent (purpose joint_modeling, granted to this node, naming the host and covering the
job's categories: creditnode consent grant), consumes one use, logs the inquiry in the applicant's log
and returns its partial score, signed and encrypted to this node. --consent names the consent files;
for each host the first one that fits it is sent.

If the node is running, score goes through its internal API (POST /internal/v1/joint/score, with a
client identity, --staff and --ref, as for query) with a model the node keeps (trained through it).

In process (--hosts NAME=FILE): each host's part of the model is read from DIR/hosts/NAME.json.`,
		Example: `  # between nodes, with the applicant's consent (creditnode consent grant --purpose joint_modeling)
  creditnode joint score --dir fed/bank-a --model model --data applicants.csv \
    --applicant 91330106MA10000095 --consent consent.jws
  # in process
  creditnode joint score --model model --data loans.csv --hosts tax-dept=tax.csv --applicant SME0001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sf.model == "" || sf.data == "" || sf.applicant == "" {
				return fmt.Errorf("--model, --data and --applicant are required")
			}
			if sf.node != "" {
				if len(sf.hostSpecs) > 0 {
					return fmt.Errorf("--hosts is for the in-process mode: with --dir the hosts are the model's")
				}
				return a.jointScoreNetwork(cmd, &sf)
			}
			if len(sf.consents) > 0 {
				return fmt.Errorf("--consent needs --dir (the mode between nodes)")
			}
			return a.jointScoreLocal(cmd.Context(), &sf)
		},
	}
	f = score.Flags()
	f.StringVar(&sf.node, "dir", "", "between nodes: this (the guest) node's directory")
	f.StringArrayVar(&sf.consents, "consent", nil, "between nodes: the applicant's joint_modeling consent file(s); repeatable")
	f.StringArrayVar(&sf.hostSpecs, "hosts", nil, "in process: host NAME=FILE; the host's model is read from DIR/hosts/NAME.json")
	f.StringVar(&sf.model, "model", "", "directory written by joint run")
	f.StringVar(&sf.data, "data", "", "guest CSV with the applicant's guest features")
	f.StringVar(&sf.label, "label", "y", "name of the label column of the guest CSV, if it has one")
	f.StringVar(&sf.applicant, "applicant", "", "identifier of the applicant (a USCC between nodes)")
	sf.ic.register(score)

	cmd.AddCommand(run, score, a.jointCancelCmd(), a.jointStatusCmd(), a.jointAggregateCmd())
	return cmd
}

func parseHostFiles(specs []string) (names, files []string, err error) {
	for _, spec := range specs {
		for _, part := range strings.Split(spec, ",") {
			name, file, ok := strings.Cut(part, "=")
			if !ok || name == "" || file == "" {
				return nil, nil, fmt.Errorf("--hosts wants NAME=FILE, got %q", part)
			}
			names, files = append(names, name), append(files, file)
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("--hosts is required")
	}
	return names, files, nil
}

// jointRunLocal trains with every host in this process.
func (a *app) jointRunLocal(ctx context.Context, rf *jointRunFlags) error {
	names, files, err := parseHostFiles(rf.hostSpecs)
	if err != nil {
		return err
	}
	gd, err := readDataset(rf.data, rf.label)
	if err != nil {
		return err
	}
	hostOpts := joint.HostOptions{MinCohort: rf.minCohort, KeyOptions: paillier.Options{AllowInsecureSize: rf.insecureBits > 0}}
	var links []joint.HostLink
	hosts := make([]*joint.Host, len(names))
	for i, file := range files {
		hd, err := readDataset(file, "")
		if err != nil {
			return err
		}
		if hosts[i], err = joint.NewHost(hd, hostOpts); err != nil {
			return err
		}
		links = append(links, joint.HostLink{Name: names[i], Conn: &joint.LocalConn{Host: hosts[i]}})
	}
	prog := newJointProgress(a.errOut, len(names), rf.iterations)
	sk, err := rf.key(prog)
	if err != nil {
		return err
	}
	job := fmt.Sprintf("job-%d", time.Now().Unix())
	g, err := joint.NewGuest(gd, rf.guestOptions(sk, prog))
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := g.Train(ctx, job, links)
	prog.End(err == nil)
	if err != nil {
		return err
	}
	out := &modeldir.Run{Job: job, Guest: rf.guestName, Mode: modeldir.ModeLocal, Hosts: names, Result: res, Took: time.Since(start)}
	if err := out.Write(rf.out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(rf.out, "hosts"), 0o700); err != nil {
		return err
	}
	for i, h := range hosts {
		hm, err := h.Model(job)
		if err != nil {
			return err
		}
		if err := modeldir.WriteJSON(filepath.Join(rf.out, "hosts", names[i]+".json"), hm); err != nil {
			return err
		}
	}
	summary(a.out, out, rf.out)
	return nil
}

// jointScoreLocal scores with every host in this process, from their CSVs and model files.
func (a *app) jointScoreLocal(ctx context.Context, sf *jointScoreFlags) error {
	names, files, err := parseHostFiles(sf.hostSpecs)
	if err != nil {
		return err
	}
	mf, err := modeldir.Read(sf.model, modeldir.ModeLocal)
	if err != nil {
		return err
	}
	g, err := jointScorer(sf.data, sf.label, mf.Model, sf.applicant)
	if err != nil {
		return err
	}
	var links []joint.HostLink
	for i, file := range files {
		hd, err := readDataset(file, "")
		if err != nil {
			return err
		}
		h, err := joint.NewHost(hd, joint.HostOptions{})
		if err != nil {
			return err
		}
		var hm joint.HostModel
		raw, err := os.ReadFile(filepath.Join(sf.model, "hosts", names[i]+".json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &hm); err != nil {
			return err
		}
		if err := h.LoadModel(&hm); err != nil {
			return fmt.Errorf("host %s: %w", names[i], err)
		}
		links = append(links, joint.HostLink{Name: names[i], Conn: &joint.LocalConn{Host: h}})
	}
	p, err := g.ScoreApplicant(ctx, mf.Model, links, sf.applicant)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "applicant %s: probability of default %.4f\n", sf.applicant, p)
	return nil
}

// openGuestNode opens the node in dir for a joint command, which the node must not be
// running: run, score, status and cancel go through a running node's internal API before
// they get here; aggregate is not offered there. Its log goes to stderr with the progress, so
// below warn only if --log-level asks.
func (a *app) openGuestNode(cmd *cobra.Command, dir string) (*node.Node, error) {
	return a.openIdleNode(cmd.Context(), dir, "")
}
