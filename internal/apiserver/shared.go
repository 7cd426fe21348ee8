package apiserver

import (
	"context"
	"os"
	"sync"
	"testing"
)

// Shared is one server for a test package, started by the first test
// that asks for it and stopped by the package's TestMain:
//
//	var api apiserver.Shared
//
//	func TestMain(m *testing.M) { code := m.Run(); api.Close(); os.Exit(code) }
//
// A package holds one because starting a server costs seconds; each test
// still sees a server with no objects (For resets it).
type Shared struct {
	mu      sync.Mutex
	started bool
	srv     *Server
	err     error
}

// For returns the package's server, started on first use, with the CRDs
// of the given Promise files installed and no objects in it. It fails the
// test when the server cannot start. Tests that use it must not run in
// parallel with each other: they share the server's objects.
//
// Set PROMISEKIT_APISERVER_LOG=1 to see the server's log on stderr.
func (s *Shared) For(t testing.TB, promiseFiles ...string) *Server {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		var opts Options
		if os.Getenv("PROMISEKIT_APISERVER_LOG") != "" {
			opts.Log = os.Stderr
		}
		s.srv, s.err = Start(context.Background(), opts)
	}
	if s.err != nil {
		t.Fatalf("starting the API server: %v", s.err)
	}
	ctx := t.Context()
	if err := s.srv.InstallPromiseFiles(ctx, promiseFiles...); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	return s.srv
}

// Close stops the server, if one was started.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}
