// Package compose holds the container topology of the federation; this test
// loads compose.yaml with the Compose specification's own loader (no
// container engine needed) and checks the topology, the Dockerfile and the
// scripts they run.
package compose

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The services of the topology.
var (
	nodeServices = []string{"bank-a", "tax-dept", "market-reg"}
	allServices  = []string{"postgres", "vault", "vault-init", "init", "bank-a", "tax-dept", "market-reg"}
	wantVolumes  = []string{"federation", "vault-tokens", "pgdata"}
)

const (
	completed = types.ServiceConditionCompletedSuccessfully
	healthy   = types.ServiceConditionHealthy
)

// load loads compose.yaml from dir with the Compose loader: interpolation
// (defaults only: the test must not depend on the caller's environment),
// normalisation, consistency checks and paths resolved against dir.
func load(t *testing.T, dir string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir),
		cli.WithEnv([]string{}),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading %s/compose.yaml: %v", dir, err)
	}
	return p
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func TestComposeTopology(t *testing.T) {
	wd, _ := os.Getwd()
	p := load(t, wd)
	for _, problem := range checkProject(p, wd, moduleRoot(t)) {
		t.Error(problem)
	}
}

// TestCheckCatchesBrokenTopology: the checks are not vacuous. Each mutation
// of a copy of compose.yaml must be reported.
func TestCheckCatchesBrokenTopology(t *testing.T) {
	wd, _ := os.Getwd()
	orig, err := os.ReadFile(filepath.Join(wd, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new, want string
	}{
		{"node starts before init completes", "condition: service_completed_successfully\n  postgres:",
			"condition: service_started\n  postgres:", `depends on init with condition "service_started"`},
		{"no node healthcheck", `"http://127.0.0.1:9090/readyz"]`, `"http://127.0.0.1:9090/metrics"]`,
			"does not probe /healthz or /readyz"},
		{"ops port mismatch", `CN_OPS_PORT_BASE: "9090"`, `CN_OPS_PORT_BASE: "9091"`, "ops listener is on port 9091"},
		{"cert without service names", "CN_CERT_HOSTS: bank-a tax-dept market-reg localhost", "CN_CERT_HOSTS: localhost",
			"certificates do not name service bank-a"},
		{"wrong volume subpath", "subpath: tax-dept", "subpath: bank-a", "tax-dept: mounts Vault token subpath"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(orig), c.old) {
				t.Fatalf("compose.yaml no longer contains %q: update this test", c.old)
			}
			dir := t.TempDir()
			mutated := strings.Replace(string(orig), c.old, c.new, 1)
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(mutated), 0o644); err != nil {
				t.Fatal(err)
			}
			// The files the compose file and the checks refer to.
			for _, f := range []string{"postgres/init.sql", "vault-init.sh", "init-federation.sh", "Dockerfile"} {
				data, err := os.ReadFile(filepath.Join(wd, f))
				if err != nil {
					t.Fatal(err)
				}
				os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			problems := checkProject(load(t, dir), dir, moduleRoot(t))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Errorf("want a problem containing %q, got %q", c.want, problems)
			}
		})
	}
}

// checkProject returns every way p differs from the intended topology.
// composeDir holds compose.yaml and its scripts; root is the module root.
func checkProject(p *types.Project, composeDir, root string) []string {
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	names := p.ServiceNames()
	slices.Sort(names)
	want := slices.Clone(allServices)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		report("services %v, want %v", names, want)
	}
	for _, v := range wantVolumes {
		if _, ok := p.Volumes[v]; !ok {
			report("volume %s is not declared", v)
		}
	}

	// Every service has a healthcheck that runs something.
	for _, name := range names {
		s := p.Services[name]
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 || s.HealthCheck.Test[0] == "NONE" {
			report("%s: no healthcheck", name)
		}
	}
	hc := func(name string) string {
		s, ok := p.Services[name]
		if !ok || s.HealthCheck == nil {
			return ""
		}
		return strings.Join(s.HealthCheck.Test, " ")
	}
	if !strings.Contains(hc("postgres"), "pg_isready") {
		report("postgres: healthcheck %q does not run pg_isready", hc("postgres"))
	}
	if !strings.Contains(hc("vault"), "vault status") {
		report("vault: healthcheck %q does not run vault status", hc("vault"))
	}

	// The init service's settings, as init-federation.sh reads them.
	initSvc := p.Services["init"]
	env := func(k string) string {
		if v := initSvc.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	if !slices.Equal(initSvc.Entrypoint, types.ShellCommand{"/usr/local/bin/init-federation.sh"}) {
		report("init: entrypoint %v, want init-federation.sh", initSvc.Entrypoint)
	}
	opsPort := env("CN_OPS_PORT_BASE")
	if env("CN_PORT_STEP") != "0" {
		report("init: CN_PORT_STEP %q: each container has its own ports, want 0", env("CN_PORT_STEP"))
	}
	if env("CN_LISTEN_HOST") != "0.0.0.0" {
		report("init: nodes listen on %q, want 0.0.0.0", env("CN_LISTEN_HOST"))
	}
	if env("CN_ADVERTISE_HOST") != "" {
		report("init: CN_ADVERTISE_HOST %q: nodes must advertise their service names", env("CN_ADVERTISE_HOST"))
	}
	hosts := strings.Fields(env("CN_CERT_HOSTS"))
	for _, n := range nodeServices {
		if !slices.Contains(hosts, n) {
			report("init: certificates do not name service %s (CN_CERT_HOSTS %q)", n, env("CN_CERT_HOSTS"))
		}
	}
	if u, err := url.Parse(env("CN_VAULT_ADDR")); err != nil || u.Hostname() != "vault" {
		report("init: CN_VAULT_ADDR %q does not name the vault service", env("CN_VAULT_ADDR"))
	}
	store := strings.ReplaceAll(env("CN_STORE_TEMPLATE"), "@DB@", "db")
	if u, err := url.Parse(store); err != nil || u.Scheme != "postgres" || u.Hostname() != "postgres" || u.Path != "/db" {
		report("init: CN_STORE_TEMPLATE %q: want postgres://…@postgres:5432/@DB@", env("CN_STORE_TEMPLATE"))
	}
	if !hasVolume(initSvc, "federation", "/federation", "") || !hasVolume(initSvc, "vault-tokens", env("CN_VAULT_TOKEN_DIR"), "") {
		report("init: does not mount the federation and vault-tokens volumes where it writes and reads")
	}
	checkDeps(report, "init", initSvc, map[string]string{"vault-init": completed, "postgres": healthy, "vault": healthy})

	// The nodes of init-federation.sh are the node services.
	script, err := os.ReadFile(filepath.Join(composeDir, "init-federation.sh"))
	if err != nil {
		report("init-federation.sh: %v", err)
	}
	if m := regexp.MustCompile(`(?m)^NODES="([^"]*)"`).FindSubmatch(script); m == nil || !slices.Equal(strings.Fields(string(m[1])), nodeServices) {
		report("init-federation.sh NODES is not %v", nodeServices)
	}

	// The nodes.
	for _, n := range nodeServices {
		s, ok := p.Services[n]
		if !ok {
			continue
		}
		checkDeps(report, n, s, map[string]string{"init": completed, "postgres": healthy, "vault": healthy})
		if !slices.Equal(s.Command, types.ShellCommand{"serve", "--dir", "/federation/" + n}) {
			report("%s: command %v, want serve --dir /federation/%s", n, s.Command, n)
		}
		if s.Image != initSvc.Image || s.Build == nil || initSvc.Build == nil ||
			s.Build.Context != initSvc.Build.Context || s.Build.Dockerfile != initSvc.Build.Dockerfile {
			report("%s: not the init service's image and build", n)
		}
		if s.Build != nil {
			if s.Build.Context != root {
				report("%s: build context %s, want the module root %s", n, s.Build.Context, root)
			}
			// The Dockerfile is relative to the build context.
			if s.Build.Dockerfile != "compose/Dockerfile" {
				report("%s: Dockerfile %s, want compose/Dockerfile", n, s.Build.Dockerfile)
			}
		}
		if !hasVolume(s, "federation", "/federation", "") {
			report("%s: does not mount the federation volume at /federation", n)
		}
		if !hasVolume(s, "vault-tokens", filepath.Join(env("CN_VAULT_TOKEN_DIR"), n), n) {
			report("%s: mounts Vault token subpath other than its own at %s/%s", n, env("CN_VAULT_TOKEN_DIR"), n)
		}
		h := hc(n)
		if !strings.Contains(h, "/healthz") && !strings.Contains(h, "/readyz") {
			report("%s: healthcheck %q does not probe /healthz or /readyz", n, h)
		} else if !strings.Contains(h, "127.0.0.1:"+opsPort+"/") {
			report("%s: healthcheck %q, but the ops listener is on port %s (127.0.0.1, CN_OPS_PORT_BASE)", n, h, opsPort)
		}
		var targets []uint32
		for _, port := range s.Ports {
			targets = append(targets, port.Target)
		}
		if !slices.Contains(targets, 7443) || !slices.Contains(targets, 7444) {
			report("%s: ports %v, want 7443 and 7444 published", n, targets)
		}
	}

	// PostgreSQL runs init.sql, which creates each node's database.
	pg := p.Services["postgres"]
	var initSQL string
	for _, v := range pg.Volumes {
		if v.Type == types.VolumeTypeBind && strings.HasPrefix(v.Target, "/docker-entrypoint-initdb.d/") {
			data, err := os.ReadFile(v.Source)
			if err != nil {
				report("postgres: init script: %v", err)
			}
			initSQL = string(data)
		}
	}
	for _, n := range nodeServices {
		db := strings.ReplaceAll(n, "-", "_")
		if !strings.Contains(initSQL, "CREATE DATABASE "+db+" OWNER "+db+";") {
			report("postgres: the init script does not create database %s owned by role %s", db, db)
		}
	}
	if pg.Environment["CREDITNODE_DB_PASSWORD"] == nil || initSvc.Environment["CN_STORE_TEMPLATE"] == nil ||
		!strings.Contains(*initSvc.Environment["CN_STORE_TEMPLATE"], ":"+*pg.Environment["CREDITNODE_DB_PASSWORD"]+"@") {
		report("postgres: the nodes' password (CREDITNODE_DB_PASSWORD) is not the one in CN_STORE_TEMPLATE")
	}

	// vault-init runs an existing script, after Vault is healthy, and writes
	// the tokens where init reads them.
	vi := p.Services["vault-init"]
	checkDeps(report, "vault-init", vi, map[string]string{"vault": healthy})
	var scriptOK bool
	for _, v := range vi.Volumes {
		if v.Type == types.VolumeTypeBind && slices.Contains(vi.Entrypoint, v.Target) {
			_, err := os.Stat(v.Source)
			scriptOK = err == nil
		}
	}
	if !scriptOK {
		report("vault-init: the entrypoint script is not a mounted, existing file")
	}
	if d := vi.Environment["CN_TOKEN_DIR"]; d == nil || *d != env("CN_VAULT_TOKEN_DIR") || !hasVolume(vi, "vault-tokens", *d, "") {
		report("vault-init: does not write tokens to the vault-tokens volume at init's CN_VAULT_TOKEN_DIR")
	}
	return bad
}

func checkDeps(report func(string, ...any), name string, s types.ServiceConfig, want map[string]string) {
	for dep, cond := range want {
		d, ok := s.DependsOn[dep]
		switch {
		case !ok:
			report("%s: does not depend on %s", name, dep)
		case d.Condition != cond:
			report("%s: depends on %s with condition %q, want %q", name, dep, d.Condition, cond)
		}
	}
}

// hasVolume reports whether s mounts the named volume at target (with the
// given subpath, "" for the whole volume).
func hasVolume(s types.ServiceConfig, source, target, subpath string) bool {
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeVolume || v.Source != source || v.Target != target {
			continue
		}
		got := ""
		if v.Volume != nil {
			got = v.Volume.Subpath
		}
		if got == subpath {
			return true
		}
	}
	return false
}

// dockerfile is compose/Dockerfile as instructions: continuation lines
// joined, comments and blank lines dropped.
func dockerfile(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatalf("the Dockerfile the compose file builds: %v", err)
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	var stages [][]string
	for _, in := range ins {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before the first FROM: %q", in)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stage(s): want a multi-stage build", len(stages))
	}

	// The build stage: CGO_ENABLED=0 go build of ./cmd/creditnode.
	build := stages[0]
	var goBuild string
	cgoOff := false
	for _, in := range build {
		if strings.HasPrefix(in, "ENV ") && regexp.MustCompile(`\bCGO_ENABLED=0\b`).MatchString(in) {
			cgoOff = true
		}
		if strings.HasPrefix(in, "RUN ") && regexp.MustCompile(`\bgo build\b`).MatchString(in) {
			goBuild = in
		}
	}
	if goBuild == "" {
		t.Fatal("the first stage runs no go build")
	}
	if !regexp.MustCompile(`\s\./cmd/creditnode(\s|$)`).MatchString(goBuild) {
		t.Errorf("go build does not build ./cmd/creditnode: %q", goBuild)
	}
	if !cgoOff && !regexp.MustCompile(`\bCGO_ENABLED=0\s+go build\b`).MatchString(goBuild) {
		t.Errorf("go build without CGO_ENABLED=0: %q", goBuild)
	}
	if regexp.MustCompile(`CGO_ENABLED=1`).MatchString(strings.Join(build, "\n")) {
		t.Error("the build stage sets CGO_ENABLED=1")
	}
	out := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(goBuild)
	if out == nil {
		t.Fatalf("go build names no output: %q", goBuild)
	}

	// The final stage: copies that binary, runs as a non-root user.
	final := stages[len(stages)-1]
	var copied, user string
	for _, in := range final {
		if strings.HasPrefix(in, "COPY ") && strings.Contains(in, "--from=") && strings.Contains(in, " "+out[1]+" ") {
			copied = in
		}
		if strings.HasPrefix(in, "USER ") {
			user = strings.TrimSpace(strings.TrimPrefix(in, "USER "))
		}
	}
	if copied == "" {
		t.Errorf("the final stage does not copy %s from the build stage", out[1])
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("final stage USER %q: want a non-root user", user)
	}

	// Every local COPY source exists (the build context is the module root).
	root := moduleRoot(t)
	for _, in := range final {
		if !strings.HasPrefix(in, "COPY ") || strings.Contains(in, "--from=") {
			continue
		}
		var args []string
		for _, f := range strings.Fields(in)[1:] {
			if !strings.HasPrefix(f, "--") {
				args = append(args, f)
			}
		}
		for _, src := range args[:len(args)-1] {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("COPY source %s: %v", src, err)
			}
		}
	}
}

// TestSeedFileInImage: the seed file init imports is the one the image holds.
func TestSeedFileInImage(t *testing.T) {
	wd, _ := os.Getwd()
	p := load(t, wd)
	seed := p.Services["init"].Environment["CN_SEED_FILE"]
	if seed == nil {
		t.Fatal("init: CN_SEED_FILE unset")
	}
	df, _ := os.ReadFile("Dockerfile")
	m := regexp.MustCompile(`COPY\s+(?:--\S+\s+)*compose/seed/\s+(\S+)`).FindSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile does not copy compose/seed/")
	}
	rel, ok := strings.CutPrefix(*seed, strings.TrimSuffix(string(m[1]), "/")+"/")
	if !ok {
		t.Fatalf("CN_SEED_FILE %s is not under %s", *seed, m[1])
	}
	if _, err := os.Stat(filepath.Join("seed", rel)); err != nil {
		t.Errorf("seed file: %v", err)
	}
}

// TestScriptsParse: the shell scripts at least parse (the containers have
// busybox sh; run-local.sh is bash).
func TestScriptsParse(t *testing.T) {
	for _, c := range []struct{ shell, file string }{
		{"sh", "init-federation.sh"}, {"sh", "vault-init.sh"}, {"bash", "run-local.sh"}, {"bash", "vault-dev.sh"},
	} {
		sh, err := exec.LookPath(c.shell)
		if err != nil {
			t.Errorf("%s: %v", c.shell, err)
			continue
		}
		if out, err := exec.Command(sh, "-n", c.file).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", c.shell, c.file, err, out)
		}
		st, err := os.Stat(c.file)
		if err == nil && st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", c.file)
		}
	}
}
