// Command wasmbuild builds the portal's verifier, cmd/portalverify, for
// the browser (GOOS=js GOARCH=wasm) into DIR/verify.wasm.gz (gzip, best
// compression, no name or time in the header: the portal serves it as is
// to browsers, which all accept gzip), and copies the Go toolchain's
// wasm_exec.js (from $(go env GOROOT)/lib/wasm) next to it.
// `go generate ./node/portal` runs it; TestWasmIsCurrent runs it again and
// compares.
//
// The build is reproducible: -trimpath, no build id, no DWARF, CGO off.
// The verifier links node/tlog, node/subjectlog and node/inquirylog, whose
// packages import node/store for their server-side parts; the store's
// SQLite driver (modernc.org/sqlite) does not build for js/wasm, so the
// build replaces node/store/sqlite*.go with empty files through -overlay.
// The verifier calls none of the store's code.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("o", "assets", "directory to write verify.wasm and wasm_exec.js into")
	flag.Parse()
	if err := build(*out); err != nil {
		fmt.Fprintln(os.Stderr, "wasmbuild:", err)
		os.Exit(1)
	}
}

func goEnv(name string) (string, error) {
	b, err := exec.Command("go", "env", name).Output()
	return strings.TrimSpace(string(b)), err
}

func build(outDir string) error {
	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return err
	}
	gomod, err := goEnv("GOMOD")
	if err != nil || gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("not in a module: %v", err)
	}
	root := filepath.Dir(gomod)
	tmp, err := os.MkdirTemp("", "wasmbuild")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	drivers, err := filepath.Glob(filepath.Join(root, "node", "store", "sqlite*.go"))
	if err != nil {
		return err
	}
	empty := filepath.Join(tmp, "empty.go")
	if err := os.WriteFile(empty, []byte("package store\n"), 0o644); err != nil {
		return err
	}
	replace := map[string]string{}
	for _, f := range drivers {
		if !strings.HasSuffix(f, "_test.go") {
			replace[f] = empty
		}
	}
	ov, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	overlay := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlay, ov, 0o644); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=",
		"-overlay", overlay, "-o", filepath.Join(tmp, "verify.wasm"), "./cmd/portalverify")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, stderr.String())
	}
	wasm, err := os.ReadFile(filepath.Join(tmp, "verify.wasm"))
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(wasm); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "verify.wasm.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	var js []byte
	for _, dir := range []string{"lib/wasm", "misc/wasm"} {
		if js, err = os.ReadFile(filepath.Join(goroot, dir, "wasm_exec.js")); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wasm_exec.js: %w", err)
	}
	return os.WriteFile(filepath.Join(outDir, "wasm_exec.js"), js, 0o644)
}
