// Package natstest runs an embedded nats-server in operator (JWT) mode for
// tests: it trusts one operator and resolves accounts from memory, so a
// test can check that credentials really connect, that permissions hold,
// and that revoked credentials are refused.
//
// nats-server is a heavy import (minutes to compile cold); only tests may
// import this package.
package natstest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is a running nats-server.
type Server struct {
	*server.Server
	resolver *server.MemAccResolver
}

// Start starts a server on 127.0.0.1 that trusts operatorJWT and knows the
// given account JWTs. It stops when the test ends.
func Start(t testing.TB, operatorJWT string, accountJWTs ...string) *Server {
	t.Helper()
	op, err := jwt.DecodeOperatorClaims(operatorJWT)
	if err != nil {
		t.Fatalf("natstest: operator JWT: %v", err)
	}
	res := &server.MemAccResolver{}
	for _, token := range accountJWTs {
		ac, err := jwt.DecodeAccountClaims(token)
		if err != nil {
			t.Fatalf("natstest: account JWT: %v", err)
		}
		if err := res.Store(ac.Subject, token); err != nil {
			t.Fatalf("natstest: storing account %s: %v", ac.Subject, err)
		}
	}
	s, err := server.NewServer(&server.Options{
		Host:             "127.0.0.1",
		Port:             -1,
		NoLog:            true,
		NoSigs:           true,
		TrustedOperators: []*jwt.OperatorClaims{op},
		AccountResolver:  res,
	})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("natstest: server not ready within 10s")
	}
	t.Cleanup(s.Shutdown)
	return &Server{Server: s, resolver: res}
}

// UpdateAccount applies a new JWT of a known account, revocations included.
// Storing it in the resolver is not enough once the account is loaded: the
// server must be told.
func (s *Server) UpdateAccount(accountJWT string) error {
	ac, err := jwt.DecodeAccountClaims(accountJWT)
	if err != nil {
		return fmt.Errorf("account JWT: %w", err)
	}
	if err := s.resolver.Store(ac.Subject, accountJWT); err != nil {
		return err
	}
	acc, err := s.LookupAccount(ac.Subject)
	if err != nil {
		return fmt.Errorf("looking up account %s: %w", ac.Subject, err)
	}
	s.UpdateAccountClaims(acc, ac)
	return nil
}

// Connect connects with a credentials file. Asynchronous errors, such as a
// permissions violation, arrive on the returned channel.
func (s *Server) Connect(creds []byte) (*nats.Conn, <-chan error, error) {
	errs := make(chan error, 16)
	nc, err := nats.Connect(s.ClientURL(),
		nats.UserCredentialBytes(creds),
		nats.NoReconnect(),
		nats.Timeout(5*time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}),
	)
	if err != nil {
		return nil, nil, err
	}
	return nc, errs, nil
}

// Refused waits up to five seconds for the server to report that the
// connection used a subject it may not: such errors arrive asynchronously.
func Refused(errs <-chan error) error {
	select {
	case err := <-errs:
		if errors.Is(err, nats.ErrPermissionViolation) {
			return nil
		}
		return fmt.Errorf("expected a permissions violation, got %w", err)
	case <-time.After(5 * time.Second):
		return errors.New("the server did not refuse within 5s")
	}
}
