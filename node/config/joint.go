package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
)

// Files of a node serving joint modelling jobs as a host, in its directory.
const (
	// JointFeaturesFile is the host's joint-modelling table (node/joint
	// FileSource): a CSV whose first column is the enterprise's USCC and
	// whose other columns are numeric features named CATEGORY.FEATURE.
	// Without this file the node serves no jobs; the running node reads it
	// again when it changes (no restart).
	JointFeaturesFile = "joint/features.csv"
	// JointHostFile optionally sets the host's protocol limits, as JSON
	// (JointHost).
	JointHostFile = "joint/host.json"
)

// JointHost is JointHostFile: a joint-modelling host's limits. Zero values
// take node/joint's defaults.
type JointHost struct {
	MinCohort     int `json:"min_cohort"`
	MinBin        int `json:"min_bin"`
	MaxIterations int `json:"max_iterations"`
	// AllowInsecureKeySize admits Paillier keys below 2048 bits. For test
	// federations only: a node started with it says so in its log.
	AllowInsecureKeySize bool `json:"allow_insecure_key_size"`
	// AggregateEpsilon, if set (an exact rational such as "1" or "1/2"),
	// serves differentially private aggregate statistics with this total ε
	// per requester.
	AggregateEpsilon string `json:"aggregate_epsilon"`
}

// Epsilon is AggregateEpsilon as a rational, nil when unset.
func (h JointHost) Epsilon() (*big.Rat, error) {
	if h.AggregateEpsilon == "" {
		return nil, nil
	}
	eps, ok := new(big.Rat).SetString(h.AggregateEpsilon)
	if !ok || eps.Sign() <= 0 {
		return nil, fmt.Errorf("config: %s: aggregate_epsilon must be a positive rational", JointHostFile)
	}
	return eps, nil
}

// LoadJointHost reads the node's JointHostFile: strictly (no unknown
// member), with ε checked. A missing file is the zero JointHost.
func (c *Config) LoadJointHost() (JointHost, error) {
	var h JointHost
	b, err := os.ReadFile(c.Path(JointHostFile))
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return JointHost{}, fmt.Errorf("config: %s: %w", JointHostFile, err)
	}
	if _, err := h.Epsilon(); err != nil {
		return JointHost{}, err
	}
	return h, nil
}
