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
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/report"
)

// jointModelFile is what "joint run" writes as model.json: the guest's part of the model and
// the run's aggregate figures. Host weights are in hosts/NAME.json, which belong to each host.
type jointModelFile struct {
	Model        *joint.Model      `json:"model"`
	Guest        string            `json:"guest"`
	Intersection int               `json:"intersection"`
	Train        int               `json:"train"`
	Test         int               `json:"test"`
	TestAUC      float64           `json:"test_auc"`
	TestKS       float64           `json:"test_ks"`
	IV           []joint.FeatureIV `json:"iv"`
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

func readDataset(path, label string) (*joint.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := joint.ReadCSV(f, label)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func (a *app) jointCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "joint", Short: "Joint modelling: a credit model over a bank's labels and departments' features, without exchanging records"}

	var guestName, data, label, out string
	var hostSpecs []string
	var minCohort, iterations, maxBins, insecureBits int
	var lr, l2, testFraction float64
	var seed uint64
	run := &cobra.Command{
		Use:   "run --guest NAME --data guest.csv --hosts NAME=FILE[,…] --out DIR",
		Short: "Train a vertical logistic regression (PSI alignment, encrypted binning, encrypted gradients) and write the model and an HTML report",
		Long: `run trains a joint model between the guest (the label holder, whose CSV has an id column, a label
column and features) and each host (id column and features). It runs every party in this process
(a local federation): every message still goes through its wire encoding, the host sees only
blinded identifiers, Paillier ciphertexts and masked aggregates, and the guest only aggregates and
partial scores. Training over the member API between nodes is not available yet.

It writes DIR/model.json (the guest's part of the model and the figures), DIR/hosts/NAME.json (each
host's part, which stays with that host) and DIR/report.html (ROC curve, AUC, KS, IV table and
the leakage table).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, files, err := parseHostFiles(hostSpecs)
			if err != nil {
				return err
			}
			if data == "" || out == "" {
				return fmt.Errorf("--data and --out are required")
			}
			gd, err := readDataset(data, label)
			if err != nil {
				return err
			}
			keyOpts := paillier.Options{}
			if insecureBits > 0 {
				keyOpts = paillier.Options{Bits: insecureBits, AllowInsecureSize: true}
			}
			hostOpts := joint.HostOptions{MinCohort: minCohort, KeyOptions: paillier.Options{AllowInsecureSize: insecureBits > 0}}
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
			fmt.Fprintf(a.out, "generating a %d-bit Paillier key\n", cmp.Or(insecureBits, paillier.DefaultBits))
			sk, err := paillier.GenerateKey(keyOpts)
			if err != nil {
				return err
			}
			job := fmt.Sprintf("job-%d", time.Now().Unix())
			g, err := joint.NewGuest(gd, joint.GuestOptions{
				MinCohort: minCohort, Key: sk, Iterations: iterations, TestFraction: testFraction, SplitSeed: seed,
				Params: joint.TrainParams{MaxBins: maxBins, LearningRate: lr, L2: l2},
				Progress: func(step string, it int) {
					if step != "regression" {
						fmt.Fprintf(a.out, "%s\n", step)
					} else if it%10 == 0 {
						fmt.Fprintf(a.out, "regression: iteration %d/%d\n", it+1, iterations)
					}
				},
			})
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := g.Train(cmd.Context(), job, links)
			if err != nil {
				return err
			}
			took := time.Since(start).Round(time.Millisecond)
			if err := os.MkdirAll(filepath.Join(out, "hosts"), 0o700); err != nil {
				return err
			}
			mf := jointModelFile{Model: res.Model, Guest: guestName, Intersection: res.Intersection, Train: res.Train,
				Test: res.Test, TestAUC: res.TestAUC, TestKS: res.TestKS, IV: res.IV}
			if err := writeJSONFile(filepath.Join(out, "model.json"), mf); err != nil {
				return err
			}
			for i, h := range hosts {
				hm, err := h.Model(job)
				if err != nil {
					return err
				}
				if err := writeJSONFile(filepath.Join(out, "hosts", names[i]+".json"), hm); err != nil {
					return err
				}
			}
			fpr, tpr := joint.ROC(res.TestLabels, res.TestScores)
			f, err := os.OpenFile(filepath.Join(out, "report.html"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			if err := report.WriteHTML(f, &report.Report{Job: job, Generated: time.Now(), Guest: guestName, Hosts: names,
				Intersection: res.Intersection, Train: res.Train, Test: res.Test, AUC: res.TestAUC, KS: res.TestKS,
				FPR: fpr, TPR: tpr, IV: res.IV, Duration: took}); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "intersection %d (train %d, test %d); test AUC %.4f, KS %.4f; %s\nwrote %s\n",
				res.Intersection, res.Train, res.Test, res.TestAUC, res.TestKS, took, out)
			return nil
		},
	}
	run.Flags().StringVar(&guestName, "guest", "guest", "name of the guest (label holder)")
	run.Flags().StringVar(&data, "data", "", "guest CSV: id column, label column, features")
	run.Flags().StringVar(&label, "label", "y", "name of the label column (0/1)")
	run.Flags().StringArrayVar(&hostSpecs, "hosts", nil, "host NAME=FILE (CSV: id column, features); repeat or separate with commas")
	run.Flags().StringVar(&out, "out", "", "directory for model.json, hosts/ and report.html")
	run.Flags().IntVar(&minCohort, "min-cohort", joint.DefaultMinCohort, "smallest intersection (and training cohort) accepted")
	run.Flags().IntVar(&iterations, "iterations", 50, "gradient steps")
	run.Flags().IntVar(&maxBins, "max-bins", 10, "quantile bins per feature before merging small bins")
	run.Flags().Float64Var(&lr, "learning-rate", 0.5, "gradient step size")
	run.Flags().Float64Var(&l2, "l2", 0.01, "ridge penalty")
	run.Flags().Float64Var(&testFraction, "test-fraction", 0.3, "share of the intersection held out for evaluation")
	run.Flags().Uint64Var(&seed, "seed", 1, "seed of the train/test split")
	run.Flags().IntVar(&insecureBits, "insecure-key-bits", 0, "TESTS ONLY: a Paillier modulus smaller than 2048 bits")

	var modelDir, applicant string
	var scoreHosts []string
	score := &cobra.Command{
		Use:   "score --model DIR --data guest.csv --hosts NAME=FILE[,…] --applicant ID",
		Short: "Score one applicant: each host contributes only its partial score",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, files, err := parseHostFiles(scoreHosts)
			if err != nil {
				return err
			}
			var mf jointModelFile
			raw, err := os.ReadFile(filepath.Join(modelDir, "model.json"))
			if err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &mf); err != nil || mf.Model == nil {
				return fmt.Errorf("%s: not a joint model", modelDir)
			}
			gd, err := readDataset(data, label)
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
				raw, err := os.ReadFile(filepath.Join(modelDir, "hosts", names[i]+".json"))
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
			g, err := joint.NewGuest(gd, joint.GuestOptions{})
			if err != nil {
				return err
			}
			p, err := g.ScoreApplicant(context.WithoutCancel(cmd.Context()), mf.Model, links, applicant)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "applicant %s: probability of default %.4f\n", applicant, p)
			return nil
		},
	}
	score.Flags().StringVar(&modelDir, "model", "", "directory written by joint run")
	score.Flags().StringVar(&data, "data", "", "guest CSV with the applicant's guest features")
	score.Flags().StringVar(&label, "label", "y", "name of the label column of the guest CSV")
	score.Flags().StringArrayVar(&scoreHosts, "hosts", nil, "host NAME=FILE; the host's model is read from DIR/hosts/NAME.json")
	score.Flags().StringVar(&applicant, "applicant", "", "identifier of the applicant")

	cmd.AddCommand(run, score)
	return cmd
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
