package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/modeldir"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

func errorCode(err error) schemas.Code {
	var e *schemas.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// parseMembers splits --hosts between nodes: member ids.
func parseMembers(specs []string) ([]string, error) {
	var out []string
	for _, id := range splitList(strings.Join(specs, ",")) {
		if strings.Contains(id, "=") {
			return nil, fmt.Errorf("--hosts %q: with --dir, hosts are member ids (NAME=FILE is the in-process mode)", id)
		}
		if slices.Contains(out, id) {
			return nil, fmt.Errorf("--hosts names %s twice", id)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--hosts is required")
	}
	return out, nil
}

// parseHostCategories reads --categories: CAT for every host, HOST:CAT for one. Every host
// needs at least one.
func parseHostCategories(specs, hosts []string) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(h, cat string) {
		if !slices.Contains(out[h], cat) {
			out[h] = append(out[h], cat)
		}
	}
	for _, spec := range splitList(strings.Join(specs, ",")) {
		h, cat, one := strings.Cut(spec, ":")
		switch {
		case !one:
			for _, h := range hosts {
				add(h, spec)
			}
		case !slices.Contains(hosts, h) || cat == "":
			return nil, fmt.Errorf("--categories %q: want CAT or HOST:CAT with HOST one of --hosts", spec)
		default:
			add(h, cat)
		}
	}
	for _, h := range hosts {
		if len(out[h]) == 0 {
			return nil, fmt.Errorf("--categories names no category for host %s", h)
		}
	}
	return out, nil
}

// jointRunNetwork trains as this node, with member nodes as hosts.
func (a *app) jointRunNetwork(cmd *cobra.Command, rf *jointRunFlags) error {
	ctx := cmd.Context()
	hosts, err := parseMembers(rf.hostSpecs)
	if err != nil {
		return err
	}
	cats, err := parseHostCategories(rf.categories, hosts)
	if err != nil {
		return err
	}
	if strings.TrimSpace(rf.labelDef) == "" {
		return fmt.Errorf("--label-definition is required with --dir: each host is told what the label means")
	}
	cfg, err := config.Load(rf.node)
	if err != nil {
		return err
	}
	if nodeRunning(cfg) {
		return a.jointRunInternal(ctx, cfg, rf, hosts, cats)
	}
	gd, err := readDataset(rf.data, rf.label)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(rf.out, 0o700); err != nil { // before any host does work
		return err
	}
	n, err := a.openGuestNode(cmd, rf.node)
	if err != nil {
		return err
	}
	defer n.Close()
	prog := newJointProgress(a.errOut, len(hosts), rf.iterations)
	sk, err := rf.key(prog)
	if err != nil {
		return err
	}
	g, err := joint.NewGuest(gd, rf.guestOptions(sk, prog))
	if err != nil {
		return err
	}
	job := remote.Terms{ID: cmp.Or(rf.job, remote.NewJobID(time.Now())), Hosts: hosts, Categories: cats, Label: rf.labelDef, Cohort: len(gd.IDs)}
	prog.Note("job %s: guest %s, hosts %s", job.ID, n.Config.ID, strings.Join(hosts, ", "))
	start := time.Now()
	res, err := remote.RunJob(ctx, n.JointClient(), g, job, prog.Note)
	prog.End(err == nil)
	if err != nil {
		return fmt.Errorf("job %s: %w", job.ID, err)
	}
	out := &modeldir.Run{Job: job.ID, Guest: n.Config.ID, Mode: modeldir.ModeNetwork, Hosts: hosts, HostCategories: cats,
		Result: res, Took: time.Since(start)}
	if err := out.Write(rf.out); err != nil {
		return fmt.Errorf("job %s is done at the hosts, but its model could not be written: %w", job.ID, err)
	}
	summary(a.out, out, rf.out)
	return nil
}

// jointScoreNetwork scores an applicant as this node, with the model's hosts.
func (a *app) jointScoreNetwork(cmd *cobra.Command, sf *jointScoreFlags) error {
	ctx := cmd.Context()
	mf, err := modeldir.Read(sf.model, modeldir.ModeNetwork)
	if err != nil {
		return err
	}
	applicant := sf.applicant
	if subj, _, err := records.NormalizeSubject(applicant); err == nil {
		applicant = subj // as the hosts and consents name it
	}
	cfg, err := config.Load(sf.node)
	if err != nil {
		return err
	}
	if mf.Guest != cfg.ID {
		return fmt.Errorf("%s: the model is %s's, this node is %s", sf.model, mf.Guest, cfg.ID)
	}
	if nodeRunning(cfg) {
		return a.jointScoreInternal(ctx, cfg, sf, mf, applicant)
	}
	g, err := jointScorer(sf.data, sf.label, mf.Model, applicant)
	if err != nil {
		return err
	}
	var consents []remote.Consent
	for _, path := range sf.consents {
		tok, err := readTrimmed(path)
		if err != nil {
			return err
		}
		consents = append(consents, remote.Consent{Name: path, Token: tok})
	}
	n, err := a.openGuestNode(cmd, sf.node)
	if err != nil {
		return err
	}
	defer n.Close()
	p, err := n.JointClient().Score(ctx, g, mf.Model, mf.HostCategories, applicant, consents, n.Registry, n.Config.ClockSkew.D())
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "applicant %s: probability of default %.4f\n", applicant, p)
	return nil
}

func (a *app) jointCancelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cancel --dir DIR --job ID --hosts ID[,…]",
		Short: "Cancel a joint modelling job at its hosts (between nodes): they erase its state and refuse its steps",
		Long: `cancel sends a signed cancellation of the job to each host; the host logs it, erases the job's state
and refuses any later step with job_cancelled. A finished job cannot be cancelled (job_state); a host
that never accepted it answers job_unknown. "joint run" cancels by itself when it fails or is
interrupted.`,
	}
	return a.jobHostsCmd(cmd, a.jointHostsInternal(true), func(ctx context.Context, cl *remote.Client, job string, hosts []string) error {
		var errs []error
		for _, h := range hosts {
			ans, err := cl.Cancel(ctx, h, job)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", h, err))
				continue
			}
			fmt.Fprintf(a.out, "%s: job %s %s\n", h, job, ans.State)
		}
		return errors.Join(errs...)
	})
}

// jobHostsCmd completes cmd, a command about one job at its hosts: the flags --dir (the
// guest node), --job and --hosts, all required, and a RunE that opens the guest node and
// calls do with its joint client, or, if the node is running, calls internal (nil: the
// command refuses to run beside the node).
func (a *app) jobHostsCmd(cmd *cobra.Command, internal internalHostsFunc, do func(ctx context.Context, cl *remote.Client, job string, hosts []string) error) *cobra.Command {
	var dir, job string
	var hostSpecs []string
	var ic internalClientFlags
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		hosts, err := parseMembers(hostSpecs)
		if err != nil {
			return err
		}
		cfg, err := config.Load(dir)
		if err != nil {
			return err
		}
		if internal != nil && nodeRunning(cfg) {
			return internal(cmd.Context(), cfg, &ic, job, hosts)
		}
		n, err := a.openGuestNode(cmd, dir)
		if err != nil {
			return err
		}
		defer n.Close()
		return do(cmd.Context(), n.JointClient(), job, hosts)
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "this (the guest) node's directory")
	f.StringVar(&job, "job", "", "the job id, as printed by joint run")
	f.StringArrayVar(&hostSpecs, "hosts", nil, "the job's host member ids; repeat or separate with commas")
	for _, name := range []string{"dir", "job", "hosts"} {
		cmd.MarkFlagRequired(name)
	}
	if internal != nil {
		ic.register(cmd)
	}
	return cmd
}

// statusWorkers bounds the hosts asked at once by "joint status".
const statusWorkers = 8

// hostStatus is one host's answer to "joint status", or its failure.
type hostStatus struct {
	host string
	st   *schemas.JointStatus
	err  error
}

// askHosts asks every host with ask, at most statusWorkers at once, and returns the answers
// in the order of hosts.
func askHosts(ctx context.Context, hosts []string, ask func(ctx context.Context, host string) (*schemas.JointStatus, error)) []hostStatus {
	out := make([]hostStatus, len(hosts))
	sem := make(chan struct{}, statusWorkers)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := ask(ctx, h)
			out[i] = hostStatus{host: h, st: st, err: err}
		})
	}
	wg.Wait()
	return out
}

// line is a host's status as "joint status" prints it.
func (s hostStatus) line() string {
	iters := "-" // erased with the job's state (cancelled, failed)
	if s.st.Iterations != nil {
		iters = strconv.Itoa(*s.st.Iterations)
	}
	return fmt.Sprintf("%s: job %s %s, iterations %s, updated %s", s.host, s.st.Job, s.st.State, iters, s.st.Updated)
}

func (a *app) jointStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status --dir DIR --job ID --hosts ID[,…]",
		Short: "Ask the hosts of a joint modelling job (between nodes) where it stands",
		Long: `status sends a signed status request for the job to each host (several at once) and prints one
line per host, in the order of --hosts: the job's state there (proposed, aligned, binned, training,
done, cancelled or failed), the regression iterations it has served ("-" once a cancelled or failed
job's state is erased) and when its state last changed. A host answers only the node that proposed
the job, and logs the request; any other node, like one asking for a job the host never accepted,
gets job_unknown. The exit status is non-zero if any host did not answer.`,
		Example: `  creditnode joint status --dir fed/bank-a --job job-20260101-120000-1a2b3c4d --hosts tax-dept,market-reg`,
	}
	return a.jobHostsCmd(cmd, a.jointHostsInternal(false), func(ctx context.Context, cl *remote.Client, job string, hosts []string) error {
		var errs []error
		for _, r := range askHosts(ctx, hosts, func(ctx context.Context, h string) (*schemas.JointStatus, error) {
			return cl.Status(ctx, h, job)
		}) {
			if r.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.host, r.err))
				continue
			}
			fmt.Fprintln(a.out, r.line())
		}
		return errors.Join(errs...)
	})
}
