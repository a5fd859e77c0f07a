package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/schemas"
)

// Files of a node serving joint modelling jobs as a host, in its directory.
const (
	// JointFeaturesFile is the host's joint-modelling table: a CSV whose first column is the
	// enterprise's USCC and whose other columns are numeric features named CATEGORY.FEATURE
	// (e.g. tax_payment.arrears_months); a job sees only the columns of its categories. Without
	// this file the node serves no jobs.
	JointFeaturesFile = "joint/features.csv"
	// JointHostFile optionally sets the host's protocol limits (joint.HostOptions), as JSON.
	JointHostFile = "joint/host.json"
)

// jointHostConfig is JointHostFile.
type jointHostConfig struct {
	MinCohort     int `json:"min_cohort"`
	MinBin        int `json:"min_bin"`
	MaxIterations int `json:"max_iterations"`
	// AllowInsecureKeySize admits Paillier keys below 2048 bits. For test federations only: a
	// node started with it says so in its log.
	AllowInsecureKeySize bool `json:"allow_insecure_key_size"`
	// AggregateEpsilon, if set (an exact rational such as "1" or "1/2"), serves differentially
	// private aggregate statistics with this total ε per requester.
	AggregateEpsilon string `json:"aggregate_epsilon"`
}

// jointStore is what joint jobs need of the node's store (both backends implement it).
type jointStore interface {
	remote.JobStore
	remote.Requests
	remote.AggregateStore
}

// withJointRoutes adds the joint-modelling job routes (node/joint/remote) to routes when the
// node has a JointFeaturesFile.
func withJointRoutes(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, regs server.Registries, seq server.Sequencer,
	pol server.Decider, levels map[string]string, st Store, logger *slog.Logger, routes map[string]http.Handler) (map[string]http.Handler, error) {
	path := cfg.Path(JointFeaturesFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return routes, nil
	}
	js, ok := st.(jointStore)
	if !ok {
		return nil, errors.New("node: the store does not keep joint modelling jobs")
	}
	if seq == nil {
		seq = st
	}
	var hc jointHostConfig
	if b, err := os.ReadFile(cfg.Path(JointHostFile)); err == nil {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hc); err != nil {
			return nil, fmt.Errorf("node: %s: %w", JointHostFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if hc.AllowInsecureKeySize {
		logger.LogAttrs(ctx, slog.LevelWarn, "joint modelling accepts insecure Paillier key sizes (test setting)")
	}
	hostOpts := joint.HostOptions{MinCohort: hc.MinCohort, MinBin: hc.MinBin, MaxIterations: hc.MaxIterations}
	hostOpts.KeyOptions.AllowInsecureSize = hc.AllowInsecureKeySize
	var agg *remote.AggregateOptions
	if hc.AggregateEpsilon != "" {
		eps, ok := new(big.Rat).SetString(hc.AggregateEpsilon)
		if !ok || eps.Sign() <= 0 {
			return nil, fmt.Errorf("node: %s: aggregate_epsilon must be a positive rational", JointHostFile)
		}
		agg = &remote.AggregateOptions{Store: js, Limit: dpnoise.Budget{Epsilon: eps}}
	}
	svc, err := remote.New(remote.Options{
		ID: cfg.ID, Jurisdiction: cfg.Jurisdiction, Keys: nk, Registries: regs, Sequencer: seq, Policy: pol, Catalog: levels,
		Jobs: js, Requests: js, Data: csvSource{path: path}, Host: hostOpts, Aggregates: agg, Skew: cfg.ClockSkew.D(), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	for pattern, h := range svc.Routes() {
		routes[pattern] = h
	}
	return routes, nil
}

// csvSource reads JointFeaturesFile for each job, so an updated table serves the next job.
type csvSource struct{ path string }

func (c csvSource) JointData(ctx context.Context, categories []string) (*joint.Dataset, error) {
	f, err := os.Open(c.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := joint.ReadCSV(f, "")
	if err != nil {
		return nil, err
	}
	return SelectCategories(all, categories)
}

// SelectCategories keeps the columns CATEGORY.FEATURE of the given categories; every category
// must have at least one.
func SelectCategories(d *joint.Dataset, categories []string) (*joint.Dataset, error) {
	var cols []int
	for _, cat := range categories {
		n := 0
		for j, name := range d.Features {
			if strings.HasPrefix(name, cat+".") {
				cols = append(cols, j)
				n++
			}
		}
		if n == 0 {
			return nil, schemas.Errorf(schemas.CodeCategoryUnknown, "no joint-modelling features for category %s", cat)
		}
	}
	slices.Sort(cols)
	out := &joint.Dataset{IDs: d.IDs, X: make([][]float64, len(d.X))}
	for _, j := range cols {
		out.Features = append(out.Features, d.Features[j])
	}
	for i, row := range d.X {
		out.X[i] = make([]float64, len(cols))
		for k, j := range cols {
			out.X[i][k] = row[j]
		}
	}
	return out, nil
}

// OutboundLog is the node's outbound log, for requesters other than Client (such as joint
// modelling jobs, node/joint/remote).
func (n *Node) OutboundLog() peer.OutboundLog { return n.Logs.outbound(n.Store) }

// JointClient is this node as the guest of joint modelling jobs (node/joint/remote): requests
// signed with its key, sent through its pinned mutual-TLS client and recorded in its outbound log.
func (n *Node) JointClient() *remote.Client {
	return &remote.Client{ID: n.Config.ID, Keys: n.Keys, Registries: ClientRegistries{W: n.Registry}, Sender: n.Client, Log: n.OutboundLog()}
}
