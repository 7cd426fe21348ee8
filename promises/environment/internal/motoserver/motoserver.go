// Package motoserver runs moto_server, the AWS emulator, for tests and
// benchmarks: on a free loopback port, with static credentials, reset
// between tests and stopped on cleanup.
//
// moto is a Python program (moto 5.2.1 in the machine image). It is looked
// for as moto_server on PATH, then as `python3 -m moto.server`; when neither
// is there, Start returns ErrNotInstalled and Shared.Get skips the test.
package motoserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Credentials moto accepts: any non-empty static pair.
const (
	AccessKeyID     = "test"
	SecretAccessKey = "test"
	// AccountID is the account moto reports for every resource.
	AccountID = "123456789012"
)

// ErrNotInstalled means neither moto_server nor the moto Python module is available.
var ErrNotInstalled = errors.New("moto is not installed (neither moto_server on PATH nor python3 -m moto.server)")

// startTimeout bounds moto's start-up, which takes 2–5 s on an idle machine
// and much longer on a loaded one.
const startTimeout = 60 * time.Second

// Server is a running moto_server.
type Server struct {
	// URL is the endpoint for every AWS service, e.g. http://127.0.0.1:40123.
	URL  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// runningRE matches werkzeug's start-up line, which moto prints on stderr.
var runningRE = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Start starts moto_server on 127.0.0.1 on a port the kernel picks. ctx
// bounds the start-up only; stop the server with Close.
func Start(ctx context.Context) (*Server, error) {
	name, args, err := command()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, append(args, "-H", "127.0.0.1", "-p", "0")...)
	// Its own process group, so that Close also ends the Python child of
	// a wrapper script; and killed with this process, so that a test binary
	// that panics or times out, or a tool that exits before its cleanup
	// runs, leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		// moto logs every request on stderr: read it to the end, or it
		// blocks once the pipe is full.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := runningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		cmd.Wait()
		close(s.done)
	}()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case s.URL = <-found:
	case <-s.done:
		return nil, errors.New("moto_server exited during start-up")
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("moto_server did not report its address: %w", ctx.Err())
	}
	if err := s.Reset(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func command() (string, []string, error) {
	if path, err := exec.LookPath("moto_server"); err == nil {
		return path, nil, nil
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", nil, ErrNotInstalled
	}
	if err := exec.Command(python, "-c", "import moto.server").Run(); err != nil {
		return "", nil, ErrNotInstalled
	}
	return python, []string{"-m", "moto.server"}, nil
}

// Reset clears every resource in every service, retrying while the server
// finishes starting.
func (s *Server) Reset(ctx context.Context) error {
	var lastErr error
	for range 50 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("resetting moto: %w", ctx.Err())
		case <-s.done:
			return errors.New("resetting moto: the server has exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("resetting moto: %w", lastErr)
}

// Close stops the server and waits for it to exit.
func (s *Server) Close() {
	s.once.Do(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	})
}

// Shared is one server for all the tests of a package, started on first
// use: moto takes seconds to start. Close it in TestMain after m.Run.
type Shared struct {
	once   sync.Once
	server *Server
	err    error
}

// Get returns the shared server, reset: each test starts from an empty
// AWS. It skips the test when moto is not installed.
func (sh *Shared) Get(tb testing.TB) *Server {
	tb.Helper()
	sh.once.Do(func() { sh.server, sh.err = Start(context.Background()) })
	if errors.Is(sh.err, ErrNotInstalled) {
		tb.Skipf("skipping: %v", sh.err)
	}
	if sh.err != nil {
		tb.Fatal(sh.err)
	}
	if err := sh.server.Reset(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return sh.server
}

// Close stops the server if it was started.
func (sh *Shared) Close() {
	if sh.server != nil {
		sh.server.Close()
	}
}
