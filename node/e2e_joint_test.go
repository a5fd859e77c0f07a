package node_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/paillier"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// jointFed is a federation whose tax-dept serves joint modelling jobs over a synthetic table,
// and whose tax_payment category is public (tax credit grades are published), so a job over
// it needs no per-subject consent; social_insurance stays authorised.
type jointFed struct {
	*fed
	guest  *joint.Dataset // bank-a's table, ids are USCCs
	hostDS *joint.Dataset // tax-dept's table
	client *remote.Client
}

const jointMembers = 240

func startJointFed(t *testing.T, prepare ...func(*devnet.Network)) *jointFed {
	t.Helper()
	return startJointFedTable(t, true, prepare...)
}

// startJointFedTable is startJointFed; without withTable tax-dept starts with no
// joint/features.csv (its host.json is written all the same).
func startJointFedTable(t *testing.T, withTable bool, prepare ...func(*devnet.Network)) *jointFed {
	t.Helper()
	syn := joint.GenerateSME(joint.SynthOptions{Members: jointMembers, GuestFeatures: 3, HostFeatures: []int{4}, Seed: 7})
	smes, err := devnet.DemoSMEs(jointMembers)
	if err != nil {
		t.Fatal(err)
	}
	toUSCC := func(d *joint.Dataset) {
		for i, id := range d.IDs {
			n, err := strconv.Atoi(strings.TrimPrefix(id, "SME"))
			if err != nil {
				t.Fatal(err)
			}
			d.IDs[i] = smes[n].USCC
		}
	}
	toUSCC(syn.Guest)
	toUSCC(syn.Hosts[0])
	ns := specs()
	for i := range ns {
		if ns[i].ID == "tax-dept" {
			ns[i].Catalog = map[string]string{"tax_payment": "public", "social_insurance": "authorised"}
		}
	}
	host := syn.Hosts[0]
	jf := &jointFed{guest: syn.Guest, hostDS: host}
	jf.fed = startFedSpecs(t, ns, append(prepare, func(n *devnet.Network) {
		dir := filepath.Join(n.NodeDir("tax-dept"), "joint")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if withTable {
			writeJointCSV(t, filepath.Join(n.NodeDir("tax-dept"), config.JointFeaturesFile), host, "tax_payment.")
		}
		cfg := `{"min_cohort": 20, "min_bin": 5, "max_iterations": 20, "allow_insecure_key_size": true, "aggregate_epsilon": "1"}`
		if err := os.WriteFile(filepath.Join(n.NodeDir("tax-dept"), config.JointHostFile), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	})...)
	jf.client = jf.newClient()
	return jf
}

func (jf *jointFed) newClient() *remote.Client {
	b := jf.nodes["bank-a"]
	return &remote.Client{ID: "bank-a", Keys: b.Keys, Registries: node.ClientRegistries{W: b.Registry}, Sender: b.Client, Log: b.OutboundLog()}
}

func writeJointCSV(t *testing.T, path string, d *joint.Dataset, prefix string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	head := []string{"id"}
	for _, name := range d.Features {
		head = append(head, prefix+name)
	}
	w.Write(head)
	for i, id := range d.IDs {
		row := []string{id}
		for _, x := range d.X[i] {
			row = append(row, strconv.FormatFloat(x, 'g', -1, 64))
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
}

// restart stops tax-dept, closes it, opens it again from its directory and serves it.
func (jf *jointFed) restart(t *testing.T) {
	t.Helper()
	<-jf.stops["tax-dept"]()
	if err := jf.nodes["tax-dept"].Close(); err != nil {
		t.Fatal(err)
	}
	nd, err := node.Open(context.Background(), jf.net.NodeDir("tax-dept"), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	validateExchanges(t, nd)
	jf.nodes["tax-dept"] = nd // closed by startFed's cleanup
	ctx, cancel := context.WithCancel(context.Background())
	ready, served := make(chan struct{}), make(chan struct{})
	go func() {
		if err := nd.Serve(ctx, func() { close(ready) }); err != nil {
			t.Errorf("serve tax-dept again: %v", err)
		}
		close(served)
	}()
	jf.stops["tax-dept"] = func() <-chan struct{} { cancel(); return served }
	t.Cleanup(func() { cancel(); <-served })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tax-dept did not restart")
	}
}

// hookConn runs a function after the host answered a message of a given kind.
type hookConn struct {
	inner joint.Conn
	after map[string]func()
}

func (h *hookConn) Call(ctx context.Context, m joint.Message) (joint.Message, error) {
	out, err := h.inner.Call(ctx, m)
	if f := h.after[m.Kind()]; f != nil && err == nil {
		delete(h.after, m.Kind())
		f()
	}
	return out, err
}

func smallKey(t *testing.T) *paillier.PrivateKey {
	t.Helper()
	sk, err := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func (jf *jointFed) propose(t *testing.T, job string, cats []string) (*schemas.JointAnswer, error) {
	t.Helper()
	return jf.client.Propose(t.Context(), "tax-dept", remote.Proposal{Job: job, Categories: cats,
		Label: "90 days past due within 12 months", Cohort: 150, Hosts: []string{"tax-dept"}})
}

// jointEntries returns tax-dept's joint_modeling entries about subject.
func (jf *jointFed) jointEntries(t *testing.T, subject string) []schemas.InquiryEntry {
	t.Helper()
	leaves, err := jf.nodes["tax-dept"].Store.SubjectInquiries(t.Context(), subject)
	if err != nil {
		t.Fatal(err)
	}
	var out []schemas.InquiryEntry
	for _, l := range leaves {
		var e schemas.InquiryEntry
		if err := json.Unmarshal(l.Entry, &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind == schemas.KindJointModeling {
			out = append(out, e)
		}
	}
	return out
}

// TestJointJobOverNetwork: bank-a (guest) trains with tax-dept (host) over the member API;
// tax-dept is restarted between binning and regression and the job continues from its store;
// every enterprise tax-dept's data were used for has its own entries; the guest then scores
// an applicant with the applicant's consent.
func TestJointJobOverNetwork(t *testing.T) {
	jf := startJointFed(t)
	ctx := t.Context()
	const job = "job-e2e-1"
	ans, err := jf.propose(t, job, []string{"tax_payment"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.State != schemas.JobProposed || ans.DecisionID == "" {
		t.Fatalf("proposal answer: state %q decision %q", ans.State, ans.DecisionID)
	}
	if _, err := jf.propose(t, job, []string{"tax_payment"}); codeOf(t, err) != schemas.CodeJobState {
		t.Fatalf("second proposal with the same id: %v", err)
	}
	g, err := joint.NewGuest(jf.guest, joint.GuestOptions{MinCohort: 20, Iterations: 4, Key: smallKey(t), SplitSeed: 1,
		Params: joint.TrainParams{MaxBins: 4, LearningRate: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	restarted := false
	conn := &hookConn{inner: jf.client.Conn("tax-dept", job), after: map[string]func(){
		joint.KindBinRequest: func() { jf.restart(t); restarted = true },
	}}
	res, err := g.Train(ctx, job, []joint.HostLink{{Name: "tax-dept", Conn: conn}})
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	if !restarted {
		t.Fatal("the host was not restarted")
	}
	if res.Model == nil || res.Train < 20 || !(res.TestAUC > 0.6) {
		t.Fatalf("model: train %d, test AUC %.3f", res.Train, res.TestAUC)
	}
	fin, err := jf.client.Finish(ctx, "tax-dept", job)
	if err != nil || fin.State != schemas.JobDone {
		t.Fatalf("finish: %v %+v", err, fin)
	}
	// Training steps after the end are refused.
	if _, err := jf.client.Conn("tax-dept", job).Call(ctx, &joint.PartialRequest{Job: job, Iter: 4}); codeOf(t, err) != schemas.CodeJobState {
		t.Fatalf("step after finish: %v", err)
	}

	// Per-enterprise entries: a host member the guest does not hold was used (blinded) only by
	// the alignment; a training cohort member by alignment, cohort, binning and training.
	guestIDs := map[string]bool{}
	for _, id := range jf.guest.IDs {
		guestIDs[id] = true
	}
	var outsider, member string
	for _, id := range jf.hostDS.IDs {
		if !guestIDs[id] && outsider == "" {
			outsider = id
		}
	}
	steps := func(es []schemas.InquiryEntry) []string {
		var out []string
		for _, e := range es {
			if e.Requester != "bank-a" || e.Decision != schemas.DecisionAllow || !slices.Equal(e.Categories, []string{"tax_payment"}) {
				t.Errorf("entry %+v", e)
			}
			_, step, _ := strings.Cut(e.Outcome, "step ")
			if !strings.Contains(e.Outcome, "joint modelling job "+job) {
				t.Errorf("outcome %q", e.Outcome)
			}
			out = append(out, step)
		}
		slices.Sort(out)
		return out
	}
	if outsider == "" {
		t.Fatal("no host member outside the guest's table")
	}
	if got := steps(jf.jointEntries(t, outsider)); !slices.Equal(got, []string{joint.KindAlignRequest}) {
		t.Fatalf("outsider's entries: %v", got)
	}
	for _, id := range jf.hostDS.IDs {
		es := jf.jointEntries(t, id)
		if len(es) >= 4 {
			member = id
			got := steps(es)
			for _, want := range []string{joint.KindAlignRequest, joint.KindBinRequest, joint.KindCohortRequest, joint.KindPartialRequest} {
				if !slices.Contains(got, want) {
					t.Fatalf("member's entries %v lack %s", got, want)
				}
			}
			break
		}
	}
	if member == "" {
		t.Fatal("no enterprise has training entries")
	}

	// Inference: the applicant's consent is required, checked, consumed and logged.
	applicant := jf.hostDS.IDs[0]
	if !guestIDs[applicant] {
		for _, id := range jf.hostDS.IDs {
			if guestIDs[id] {
				applicant = id
				break
			}
		}
	}
	score := jf.client.Conn("tax-dept", job)
	if _, err := g.ScoreApplicant(ctx, res.Model, []joint.HostLink{{Name: "tax-dept", Conn: score}}, applicant); codeOf(t, err) != schemas.CodeConsentMissing {
		t.Fatalf("score without consent: %v", err)
	}
	subj, err := jf.net.EnrolSubject("market-reg", applicant)
	if err != nil {
		t.Fatal(err)
	}
	tok, consentID, err := devnet.GrantConsent(subj, "bank-a", "joint_modeling", []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	score.Consent = tok
	before := len(jf.jointEntries(t, applicant))
	if before == 0 || jf.jointEntries(t, applicant)[before-1].Code != schemas.CodeConsentMissing {
		t.Fatal("the refusal without consent is not in the applicant's log")
	}
	p, err := g.ScoreApplicant(ctx, res.Model, []joint.HostLink{{Name: "tax-dept", Conn: score}}, applicant)
	if err != nil || !(p > 0 && p < 1) {
		t.Fatalf("score with consent: %v, %v", p, err)
	}
	es := jf.jointEntries(t, applicant)
	if len(es) != before+1 {
		t.Fatalf("applicant entries: %d before, %d after scoring", before, len(es))
	}
	last := es[len(es)-1]
	if last.ConsentID != consentID || !strings.Contains(last.Outcome, joint.KindScoreRequest) {
		t.Fatalf("applicant entry: %+v", last)
	}
	if _, err := g.ScoreApplicant(ctx, res.Model, []joint.HostLink{{Name: "tax-dept", Conn: score}}, applicant); codeOf(t, err) != schemas.CodeConsentExhausted {
		t.Fatalf("second score on a one-use consent: %v", err)
	}
}

// TestJointJobPolicyRefusal: a job over an authorised category needs per-subject consent,
// which jobs do not carry: the host refuses it, logs the refusal and keeps no job.
func TestJointJobPolicyRefusal(t *testing.T) {
	jf := startJointFed(t)
	size := jf.logSize(t, "tax-dept")
	outbound := func() uint64 {
		n, err := jf.nodes["bank-a"].Store.OutboundLogSize(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	out := outbound()
	_, err := jf.propose(t, "job-refused", []string{"social_insurance"})
	if code := codeOf(t, err); code != schemas.CodeConsentMissing {
		t.Fatalf("code %s, want consent_missing", code)
	}
	if got := jf.logSize(t, "tax-dept"); got != size+1 {
		t.Fatalf("log grew by %d, want 1", got-size)
	}
	if got := outbound(); got != out+2 { // sent, failed
		t.Fatalf("bank-a's outbound log grew by %d, want 2", got-out)
	}
	// No job was kept: a step is job_unknown.
	if _, err := jf.client.Conn("tax-dept", "job-refused").Call(t.Context(), &joint.PartialRequest{Job: "job-refused"}); codeOf(t, err) != schemas.CodeJobUnknown {
		t.Fatalf("step of a refused job: %v", err)
	}
	// Another member cannot see or drive bank-a's job.
	if _, err := jf.propose(t, "job-ok", []string{"tax_payment"}); err != nil {
		t.Fatal(err)
	}
	mr := jf.nodes["market-reg"]
	other := &remote.Client{ID: "market-reg", Keys: mr.Keys, Registries: node.ClientRegistries{W: mr.Registry}, Sender: mr.Client}
	if _, err := other.Cancel(t.Context(), "tax-dept", "job-ok"); codeOf(t, err) != schemas.CodeJobUnknown {
		t.Fatalf("cancel by another member: %v", err)
	}
}

// TestJointJobCancel: a job cancelled after alignment refuses every further step with
// job_cancelled, also after a restart of the host.
func TestJointJobCancel(t *testing.T) {
	jf := startJointFed(t)
	ctx := t.Context()
	const job = "job-cancel"
	if _, err := jf.propose(t, job, []string{"tax_payment"}); err != nil {
		t.Fatal(err)
	}
	g, err := joint.NewGuest(jf.guest, joint.GuestOptions{MinCohort: 20, Iterations: 2, Key: smallKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	conn := &hookConn{inner: jf.client.Conn("tax-dept", job), after: map[string]func(){
		joint.KindAlignRequest: func() {
			ans, err := jf.client.Cancel(ctx, "tax-dept", job)
			if err != nil || ans.State != schemas.JobCancelled {
				t.Errorf("cancel: %v %+v", err, ans)
			}
		},
	}}
	_, err = g.Train(ctx, job, []joint.HostLink{{Name: "tax-dept", Conn: conn}})
	if code := codeOf(t, err); code != schemas.CodeJobCancelled {
		t.Fatalf("train after cancel: %s", code)
	}
	jf.restart(t)
	if _, err := jf.client.Conn("tax-dept", job).Call(ctx, &joint.PartialRequest{Job: job}); codeOf(t, err) != schemas.CodeJobCancelled {
		t.Fatalf("step after restart: %v", err)
	}
	if _, err := jf.client.Cancel(ctx, "tax-dept", job); codeOf(t, err) != schemas.CodeJobCancelled {
		t.Fatalf("second cancel: %v", err)
	}
}

// TestJointRequestAuthentication: the TLS peer must be the signer and the issuer, the request
// must be addressed to the host and fresh, its route must match its op, and every refusal is
// logged.
func TestJointRequestAuthentication(t *testing.T) {
	jf := startJointFed(t)
	sign := func(signer string, c schemas.JointRequest) []byte {
		k := jf.nodes[signer].Keys
		payload, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jose.Sign(k.Signer, k.SigningKID, schemas.TypJointRequest, payload)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := func() schemas.JointRequest {
		return schemas.JointRequest{ID: peer.NewRequestID(), IssuedAt: time.Now().Unix(), Issuer: "bank-a", Audience: "tax-dept",
			Op: schemas.JointOpPropose, Job: "j-auth", Purpose: "joint_modeling", Categories: []string{"tax_payment"},
			Label: "dpd90", Cohort: 100, Hosts: []string{"tax-dept"}}
	}
	send := func(path string, tok []byte) schemas.Code {
		status, body, err := jf.bank().SendRaw(t.Context(), "tax-dept", path, tok)
		if err != nil {
			t.Fatal(err)
		}
		if status == 200 {
			return ""
		}
		var eb schemas.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			t.Fatalf("status %d, body %q", status, body)
		}
		if eb.Error.LogIndex == nil {
			t.Errorf("refusal %s not logged", eb.Error.Code)
		}
		return eb.Error.Code
	}
	other := claims()
	other.Issuer = "market-reg"
	wrongAud := claims()
	wrongAud.Audience = "market-reg"
	stale := claims()
	stale.IssuedAt = time.Now().Add(-time.Hour).Unix()
	for name, tc := range map[string]struct {
		path string
		tok  []byte
		want schemas.Code
	}{
		"signed by another member": {remote.PathPropose, sign("market-reg", claims()), schemas.CodeBadSignature},
		"issuer not the TLS peer":  {remote.PathPropose, sign("bank-a", other), schemas.CodeIdentityMismatch},
		"wrong audience":           {remote.PathPropose, sign("bank-a", wrongAud), schemas.CodeWrongAudience},
		"stale":                    {remote.PathPropose, sign("bank-a", stale), schemas.CodeClockSkew},
		"op not the route's":       {remote.PathStep, sign("bank-a", claims()), schemas.CodeMalformedRequest},
		"not a JWS":                {remote.PathPropose, []byte("{}"), schemas.CodeMalformedRequest},
	} {
		if got := send(tc.path, tc.tok); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	tok := sign("bank-a", claims())
	if got := send(remote.PathPropose, tok); got != "" {
		t.Fatalf("valid proposal: %s", got)
	}
	if got := send(remote.PathPropose, tok); got != schemas.CodeReplay {
		t.Fatalf("replayed proposal: %q", got)
	}
}

// TestJointAggregateOverNetwork: differentially private statistics over the member API; the
// differencing rule and the ε ledger hold across a restart of the host (they are stored);
// every enterprise of a query set gets an entry.
func TestJointAggregateOverNetwork(t *testing.T) {
	jf := startJointFed(t)
	ctx := t.Context()
	feature := "tax_payment." + jf.hostDS.Features[0]
	set := jf.hostDS.IDs[:60]
	q := schemas.JointAggregate{Kind: "count", Category: "tax_payment", Members: set, Epsilon: "1/2"}
	res, err := jf.client.Aggregate(ctx, "tax-dept", "study-1", q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value < 30 || res.Value > 90 { // 60 plus Laplace noise of scale 2
		t.Fatalf("noisy count %v of 60", res.Value)
	}
	es := jf.jointEntries(t, set[0])
	if len(es) != 1 || !strings.Contains(es[0].Outcome, "aggregate count") || es[0].Decision != schemas.DecisionAllow {
		t.Fatalf("entries of a member of the query set: %+v", es)
	}
	if es := jf.jointEntries(t, jf.hostDS.IDs[100]); len(es) != 0 {
		t.Fatalf("an enterprise outside the query set has entries: %+v", es)
	}
	// Authorised categories need consent: refused by policy.
	if _, err := jf.client.Aggregate(ctx, "tax-dept", "study-1", schemas.JointAggregate{Kind: "count", Category: "social_insurance", Epsilon: "1/10"}); codeOf(t, err) != schemas.CodeConsentMissing {
		t.Fatalf("aggregate over an authorised category: %v", err)
	}
	jf.restart(t)
	diff := q
	diff.Members = set[1:]
	diff.Epsilon = "1/10"
	if _, err := jf.client.Aggregate(ctx, "tax-dept", "study-1", diff); codeOf(t, err) != schemas.CodeQuerySetRefused {
		t.Fatalf("differencing query after restart: %v", err)
	}
	sum := schemas.JointAggregate{Kind: "sum", Category: "tax_payment", Feature: feature, Lo: -5, Hi: 5, Scale: 10, Epsilon: "1/2"}
	if _, err := jf.client.Aggregate(ctx, "tax-dept", "study-1", sum); err != nil {
		t.Fatalf("sum within the budget: %v", err)
	}
	sum.Epsilon = "1/100"
	if _, err := jf.client.Aggregate(ctx, "tax-dept", "study-1", sum); codeOf(t, err) != schemas.CodePrivacyBudgetExceeded {
		t.Fatalf("spent budget: %v", err)
	}
}

// TestJointHostPicksUpNewTable: a running host that started without joint/features.csv serves
// jobs once the file is written, and the next job after the file is replaced uses the new
// table (its features and rows); a bad replacement leaves the table in force. No restart.
func TestJointHostPicksUpNewTable(t *testing.T) {
	jf := startJointFedTable(t, false)
	path := filepath.Join(jf.net.NodeDir("tax-dept"), config.JointFeaturesFile)
	if _, err := jf.propose(t, "job-no-table", []string{"tax_payment"}); codeOf(t, err) != schemas.CodeCategoryUnknown {
		t.Fatalf("proposal without a table: %v, want category_unknown", err)
	}
	// replace writes the table atomically, as an operator's tool would.
	replace := func(d *joint.Dataset, prefix string) {
		t.Helper()
		tmp := path + ".new"
		writeJointCSV(t, tmp, d, prefix)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	// train runs a short job and returns the host features it used and the intersection.
	train := func(job string) ([]string, int) {
		t.Helper()
		if _, err := jf.propose(t, job, []string{"tax_payment"}); err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		g, err := joint.NewGuest(jf.guest, joint.GuestOptions{MinCohort: 20, Iterations: 1, Key: smallKey(t), SplitSeed: 1,
			Params: joint.TrainParams{MaxBins: 4, LearningRate: 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Train(t.Context(), job, []joint.HostLink{{Name: "tax-dept", Conn: jf.client.Conn("tax-dept", job)}})
		if err != nil {
			t.Fatalf("%s: train: %v", job, err)
		}
		var features []string
		for _, iv := range res.IV {
			if iv.Party == "tax-dept" {
				features = append(features, iv.Feature)
			}
		}
		slices.Sort(features)
		return features, res.Intersection
	}

	replace(jf.hostDS, "tax_payment.")
	first, n1 := train("job-first-table")
	if len(first) != len(jf.hostDS.Features) || strings.Contains(first[0], "v2_") {
		t.Fatalf("first table's features: %v", first)
	}

	// The new table: other feature names, and only the first 150 enterprises.
	next := &joint.Dataset{IDs: jf.hostDS.IDs[:150], X: jf.hostDS.X[:150]}
	for _, f := range jf.hostDS.Features {
		next.Features = append(next.Features, "v2_"+f)
	}
	replace(next, "tax_payment.")
	second, n2 := train("job-second-table")
	if len(second) != len(next.Features) || !strings.HasPrefix(second[0], "tax_payment.v2_") {
		t.Fatalf("second table's features: %v (the first table's were %v)", second, first)
	}
	if n2 >= n1 || n2 > 150 {
		t.Fatalf("intersection %d with the second table, %d with the first", n2, n1)
	}

	// A bad replacement (a value that is not a number) keeps the second table in force.
	if err := os.WriteFile(path+".new", []byte("uscc,tax_payment.a\n"+jf.hostDS.IDs[0]+",not-a-number\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	third, n3 := train("job-bad-table")
	if !slices.Equal(third, second) || n3 != n2 {
		t.Fatalf("after a bad table: features %v, intersection %d; want the second table's", third, n3)
	}
}
