package fakesynadia

import (
	"net/http"
	"strconv"
	"time"
)

// Fault is one way a request can go wrong. The zero Fault handles the
// request normally.
type Fault struct {
	// Status answers with this status (and Body, and RetryAfter as the
	// Retry-After header) instead of the handler's answer.
	Status     int
	Body       string
	RetryAfter string
	// Commit runs the handler before a Status answer or a Drop (it means
	// nothing without one), so that the request takes effect although the
	// client learns nothing of it.
	Commit bool
	// Delay waits before handling. The request is handled after the wait
	// even when the client has given up, as a busy server would.
	Delay time.Duration
	// HoldAnswer handles the request, then waits before answering.
	HoldAnswer time.Duration
	// Drop closes the connection without an answer.
	Drop bool
}

// Inject makes the next times requests to route fail with f, after any
// faults injected earlier for the route.
func (s *Server) Inject(route string, times int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[route] = append(s.faults[route], f)
	}
}

// ClearFaults drops every fault not used yet.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

func (s *Server) nextFaultLocked(route string) (Fault, bool) {
	q := s.faults[route]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[route] = q[1:]
	return q[0], true
}

// apply carries the fault out. It returns false when the request is to be
// handled normally after all (a Delay alone). handle runs the real handler
// into the given writer.
func (f Fault) apply(w http.ResponseWriter, r *http.Request, handle func(http.ResponseWriter)) bool {
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if f.Commit && (f.Drop || f.Status != 0) {
		handle(discard{header: http.Header{}})
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return true
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
		w.WriteHeader(f.Status)
		w.Write([]byte(f.Body))
		return true
	case f.HoldAnswer > 0:
		rec := &recorder{header: http.Header{}}
		handle(rec)
		time.Sleep(f.HoldAnswer)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.code)
		w.Write(rec.body)
		return true
	}
	return false
}

// discard is a ResponseWriter that drops the answer of a committed request.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// recorder keeps an answer to send later.
type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) { r.code = code }
