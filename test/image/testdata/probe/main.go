// Command probe reports, as JSON on stdout, what a process can do inside
// the container the image tests run: who it is, its capabilities and
// no_new_privs, whether it can write the root filesystem and Kratix's
// output directory, which files the volumes hold, and its environment.
package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

type report struct {
	UID, GID    int
	Groups      []int
	Status      map[string]string // CapEff, CapPrm, CapBnd, NoNewPrivs, Seccomp
	WriteRoot   string            // the error writing /probe
	WriteOutput string            // the error writing /kratix/output/probe ("" if it worked)
	Keyctl      string            // the error of a keyctl call, which seccomp refuses ("" if it worked)
	Files       []string          // under /etc/promisekit and /kratix
	Env         []string
}

func main() {
	r := report{UID: os.Getuid(), GID: os.Getgid(), Status: map[string]string{}}
	r.Groups, _ = os.Getgroups()
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (strings.HasPrefix(k, "Cap") || k == "NoNewPrivs" || k == "Seccomp") {
				r.Status[k] = strings.TrimSpace(v)
			}
		}
	}
	r.WriteRoot = errString(os.WriteFile("/probe", []byte("x"), 0o644))
	// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING): any
	// unprivileged process may; a RuntimeDefault filter refuses it.
	if _, _, errno := syscall.Syscall(syscall.SYS_KEYCTL, 0, ^uintptr(2), 0); errno != 0 {
		r.Keyctl = errno.Error()
	}
	r.WriteOutput = errString(os.WriteFile("/kratix/output/probe.yaml", []byte("probe: true\n"), 0o644))
	for _, root := range []string{"/etc/promisekit", "/kratix"} {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				r.Files = append(r.Files, p)
			}
			return nil
		})
	}
	r.Env = os.Environ()
	sort.Strings(r.Env)
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
