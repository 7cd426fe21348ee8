package crdcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ModuleFile reads a file from a Go module's source in the module cache,
// such as a CRD that a module ships beside its Go types:
//
//	ModuleFile("sigs.k8s.io/gateway-api", "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml")
//
// module is either a module path required by the go.mod of the module the
// caller runs in, at the version pinned there, or "path@version" for a
// module that go.mod does not require; that one is downloaded if need be,
// without touching go.mod or go.sum.
func ModuleFile(module, relPath string) ([]byte, error) {
	if !filepath.IsLocal(relPath) {
		return nil, fmt.Errorf("module file %q: not a path inside the module", relPath)
	}
	var dir string
	var err error
	if path, version, ok := strings.Cut(module, "@"); ok {
		dir, err = downloadedModuleDir(path, version)
	} else {
		dir, err = requiredModuleDir(module)
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, relPath))
}

// requiredModuleDir asks the go command where the main module's pinned
// version of module is.
func requiredModuleDir(module string) (string, error) {
	root, err := mainModuleRoot()
	if err != nil {
		return "", err
	}
	out, err := runGo(root, "list", "-m", "-f", "{{.Dir}}", module)
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("module %s is not in the module cache; run `go mod download %s`", module, module)
	}
	return dir, nil
}

// mainModuleRoot finds the directory of the go.mod that governs the
// working directory, as the go command would.
func mainModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// downloadedModuleDir downloads path@version into the module cache. It runs
// outside any module, so that no go.mod or go.sum is changed.
func downloadedModuleDir(path, version string) (string, error) {
	if path == "" || version == "" {
		return "", fmt.Errorf("module %q: want path@version", path+"@"+version)
	}
	scratch, err := os.MkdirTemp("", "crdcheck-download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	// go mod download -json reports failures in its output too, and exits
	// non-zero; prefer the reported error, which names the cause.
	out, runErr := runGo(scratch, "mod", "download", "-json", path+"@"+version)
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("downloading module %s@%s: %w", path, version, runErr)
		}
		return "", fmt.Errorf("downloading module %s@%s: reading go's answer: %w", path, version, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("downloading module %s@%s: %s", path, version, info.Error)
	}
	if runErr != nil || info.Dir == "" {
		return "", fmt.Errorf("downloading module %s@%s: %v", path, version, runErr)
	}
	return info.Dir, nil
}

// runGo runs the go command in dir and returns its standard output; a
// failure carries its standard error.
func runGo(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// GOWORK=off: a go.work found above dir would change which module is main.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// PromiseCRD returns the CustomResourceDefinition in a Kratix Promise's
// spec.api, as YAML for Load, so that requests can be checked against a
// promise's own API, CEL rules included.
func PromiseCRD(promiseYAML []byte) ([]byte, error) {
	js, err := yaml.YAMLToJSONStrict(promiseYAML)
	if err != nil {
		return nil, fmt.Errorf("decoding promise: %w", err)
	}
	var promise struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			API json.RawMessage `json:"api"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(js, &promise); err != nil {
		return nil, fmt.Errorf("decoding promise: %w", err)
	}
	if promise.APIVersion != "platform.kratix.io/v1alpha1" || promise.Kind != "Promise" {
		return nil, fmt.Errorf("not a platform.kratix.io/v1alpha1 Promise (apiVersion %q, kind %q)", promise.APIVersion, promise.Kind)
	}
	api := bytes.TrimSpace(promise.Spec.API)
	if len(api) == 0 || bytes.Equal(api, []byte("null")) {
		return nil, fmt.Errorf("promise %q has no spec.api", promise.Metadata.Name)
	}
	crd, err := yaml.JSONToYAML(api)
	if err != nil {
		return nil, fmt.Errorf("promise %q: spec.api: %w", promise.Metadata.Name, err)
	}
	return crd, nil
}
