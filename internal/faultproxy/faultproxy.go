// Package faultproxy puts a real TCP proxy, toxiproxy, between a stage under
// test and its outside system (a fake Synadia Cloud, a fake platform API),
// so that tests can show what the stage does when the network fails: answers
// that come late, slowly, cut off or not at all, connections reset, requests
// that never arrive. The faults are toxiproxy's own, applied to real TCP
// connections, rather than errors a test double invents.
//
// toxiproxy works on bytes, not on HTTP calls, and a stage's run makes
// several calls over the same connections. HTTP (see StartHTTP) therefore
// puts a small HTTP front behind the proxy that numbers the calls reaching
// the upstream and adds the toxics at the moment a chosen call is made or
// answered: so a test can hit, say, the third call of a run, and only it.
// Answers such as 503 or 429 are HTTP, not TCP: fakes that have fault
// knobs of their own (internal/fakesynadia) give those; for other servers
// the front can answer them.
//
// The fault and crash-consistency tests of promises/natsuser and
// promises/apiaggregator use it. toxiproxy and its dependencies
// (gorilla/mux, zerolog, prometheus) are for tests only: no stage binary
// may import this package (TestNotInBinaries checks).
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// Direction is the way of the bytes a toxic acts on.
type Direction string

// Directions, seen from the client (the stage).
const (
	// Upstream bytes go from the client to the server: requests.
	Upstream Direction = "upstream"
	// Downstream bytes go from the server to the client: answers.
	Downstream Direction = "downstream"
)

// Toxic is one toxiproxy toxic: its type, the direction it acts on, and its
// attributes as toxiproxy names them (durations in milliseconds).
type Toxic struct {
	Type       string
	Direction  Direction
	Attributes map[string]int64
}

// Latency delays every chunk of data by d.
func Latency(d time.Duration) Toxic {
	return Toxic{Type: "latency", Direction: Downstream, Attributes: map[string]int64{"latency": d.Milliseconds()}}
}

// ResetPeer closes the connection as soon as data arrives, dropping it.
// Connections opened while the toxic is in place are reset (TCP RST);
// connections already open are closed.
func ResetPeer() Toxic {
	return Toxic{Type: "reset_peer", Direction: Downstream, Attributes: map[string]int64{"timeout": 0}}
}

// Timeout drops all data and closes the connection after d; 0 never closes
// it, a black hole.
func Timeout(d time.Duration) Toxic {
	return Toxic{Type: "timeout", Direction: Downstream, Attributes: map[string]int64{"timeout": d.Milliseconds()}}
}

// Bandwidth lets through at most kbps kilobytes a second: a slow body.
func Bandwidth(kbps int64) Toxic {
	return Toxic{Type: "bandwidth", Direction: Downstream, Attributes: map[string]int64{"rate": kbps}}
}

// SlowClose delays closing the connection by d once the other side closed.
func SlowClose(d time.Duration) Toxic {
	return Toxic{Type: "slow_close", Direction: Downstream, Attributes: map[string]int64{"delay": d.Milliseconds()}}
}

// LimitData closes the connection once n bytes passed.
func LimitData(n int64) Toxic {
	return Toxic{Type: "limit_data", Direction: Downstream, Attributes: map[string]int64{"bytes": n}}
}

// On returns the toxic acting on direction d instead.
func (t Toxic) On(d Direction) Toxic {
	t.Direction = d
	return t
}

func (t Toxic) String() string {
	return fmt.Sprintf("%s %s %v", t.Direction, t.Type, t.Attributes)
}

// Proxy is an in-process toxiproxy proxy on a free loopback port in front
// of one upstream TCP address. It stops when the test ends.
type Proxy struct {
	proxy *toxiproxy.Proxy

	mu    sync.Mutex
	next  int      // numbers toxic names
	names []string // toxics in place
}

// quietToxics makes the toxics that log through zerolog's global logger
// (bandwidth does, at trace level, whenever it is removed) log warnings
// only. It runs before the first proxy starts, so before any toxic runs.
var quietToxics = sync.OnceFunc(func() { log.Logger = log.Logger.Level(zerolog.WarnLevel) })

// Start starts a proxy in front of upstream ("host:port").
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	quietToxics()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "faultproxy", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("faultproxy: starting toxiproxy in front of %s: %v", upstream, err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{proxy: p}
}

// Addr is the proxy's "host:port": what clients connect to.
func (p *Proxy) Addr() string { return p.proxy.Listen }

// Add puts a toxic in place on every connection, open or future, and
// returns its name for Remove.
func (p *Proxy) Add(tx Toxic) (string, error) {
	p.mu.Lock()
	p.next++
	name := fmt.Sprintf("%s-%s-%d", tx.Type, tx.Direction, p.next)
	p.mu.Unlock()
	spec, err := json.Marshal(map[string]any{
		"name": name, "type": tx.Type, "stream": string(tx.Direction), "toxicity": 1, "attributes": tx.Attributes,
	})
	if err != nil {
		return "", fmt.Errorf("faultproxy: encoding toxic %s: %w", tx, err)
	}
	if _, err := p.proxy.Toxics.AddToxicJson(bytes.NewReader(spec)); err != nil {
		return "", fmt.Errorf("faultproxy: adding toxic %s: %w", tx, err)
	}
	p.mu.Lock()
	p.names = append(p.names, name)
	p.mu.Unlock()
	return name, nil
}

// removeTimeout bounds removing a toxic: toxiproxy flushes what the toxic
// held, and a connection nobody reads could otherwise hold a test forever.
const removeTimeout = 5 * time.Second

// Remove takes a toxic away; data it held back is let through.
func (p *Proxy) Remove(name string) error {
	p.mu.Lock()
	p.names = slices.DeleteFunc(p.names, func(n string) bool { return n == name })
	p.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- p.proxy.Toxics.RemoveToxic(context.Background(), name) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("faultproxy: removing toxic %s: %w", name, err)
		}
		return nil
	case <-time.After(removeTimeout):
		return fmt.Errorf("faultproxy: removing toxic %s did not finish within %s", name, removeTimeout)
	}
}

// Clear removes every toxic.
func (p *Proxy) Clear() error {
	p.mu.Lock()
	names := slices.Clone(p.names)
	p.mu.Unlock()
	var errs []error
	for _, name := range names {
		errs = append(errs, p.Remove(name))
	}
	return errors.Join(errs...)
}
