// Package apiserver starts a real Kubernetes API server in-process for
// tests and the demo: k8s.io/apiextensions-apiserver's test server (the
// CustomResourceDefinition server kube-apiserver embeds, at the k8s.io
// release this module uses) on an embedded etcd, listening on a loopback
// port. It serves CRDs and their objects with the server's own code:
// structural-schema and CEL cost checks on a CRD, schema, CEL rules and
// defaulting on an object, the status subresource, list paging with
// limit/continue, field selectors on selectableFields, and printer columns
// through the Table API. It serves no core API (no Namespace, Secret or
// RBAC objects); namespaced custom objects need no Namespace object.
//
// Authorization is not RBAC: every client config it hands out is the
// server's own loopback identity (system:masters). RuleTransport checks a
// client's calls against a Promise's rbac.permissions instead.
//
// It is for tests and the demo's server command only: it links
// apiextensions-apiserver, apiserver and etcd, and no pipeline binary may
// import it (internal/importguard).
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	servertesting "k8s.io/apiextensions-apiserver/pkg/cmd/server/testing"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/promisekit/promisekit/pkg/platformapi"
)

// Options say how to start a server.
type Options struct {
	// Log receives the server's and etcd's log; nil discards it. The
	// server logs through klog, which is process-wide: the last Start
	// decides where klog writes.
	Log io.Writer
}

// Server is a running API server with its etcd.
type Server struct {
	config   *rest.Config
	etcd     *embed.Etcd
	etcdc    *clientv3.Client
	prefix   string
	dir      string
	tearDown func()
	// servingCert is the PEM file of the server's self-signed serving
	// certificate and its CA, for clients outside this process.
	servingCert string
	// crds are the CRDs installed, by name, for Reset.
	crds map[string]crdResource
}

// Start starts etcd and the API server, and returns when the server
// answers /healthz. Close stops both and removes their files.
//
// The server lists from etcd, not from a watch cache (--watch-cache=false):
// a continue token then expires when etcd compacts the revision it names,
// as on a cluster whose cache has fallen behind, and Compact can make it
// happen on purpose.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	klog.SetLogger(logr.Discard())
	if opts.Log != nil {
		klog.ClearLogger()
		klog.LogToStderr(false)
		klog.SetOutput(opts.Log)
	}

	dir, err := os.MkdirTemp("", "promisekit-apiserver-")
	if err != nil {
		return nil, fmt.Errorf("creating the server's directory: %w", err)
	}
	s := &Server{dir: dir, prefix: "/registry-" + strconv.FormatInt(time.Now().UnixNano(), 36), crds: map[string]crdResource{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if err := s.startEtcd(ctx, log); err != nil {
		return nil, err
	}

	// The server delegates authentication and authorization to a
	// kube-apiserver; this kubeconfig names none that answers, so only the
	// server's own loopback identity is let in.
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(noKubeAPIServer), 0o600); err != nil {
		return nil, fmt.Errorf("writing the server's kubeconfig: %w", err)
	}
	flags := []string{
		"--etcd-servers", "http://" + s.etcd.Clients[0].Addr().String(),
		"--etcd-prefix", s.prefix,
		"--authentication-skip-lookup",
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--kubeconfig", kubeconfig,
		// Admission and filters that would ask a kube-apiserver.
		"--enable-priority-and-fairness=false",
		"--disable-admission-plugins", "NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
		"--watch-cache=false",
		// The server's own compaction would expire continue tokens at
		// random; tests compact when they mean to.
		"--etcd-compaction-interval=0",
	}
	ts, err := servertesting.StartTestServer(logger{log}, nil, flags, nil)
	if err != nil {
		return nil, fmt.Errorf("starting the API server: %w", err)
	}
	s.tearDown = ts.TearDownFn
	s.servingCert = ts.ServerOpts.RecommendedOptions.SecureServing.ServerCert.CertKey.CertFile
	s.config = rest.CopyConfig(ts.ClientConfig)
	// The loopback config's defaults (5 QPS) would make a test of a
	// thousand objects wait on the client, not the server.
	s.config.QPS, s.config.Burst = -1, 0
	return s, nil
}

// noKubeAPIServer is a kubeconfig for a kube-apiserver that is not there
// (127.1.2.3 is loopback; nothing listens on the port), with no credentials.
const noKubeAPIServer = `apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "http://127.1.2.3:9"}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
users:
- name: none
  user: {}
`

// startEtcd starts a one-member etcd on two free loopback ports, without
// fsync (its data dies with the test).
func (s *Server) startEtcd(ctx context.Context, log io.Writer) error {
	cfg := embed.NewConfig()
	cfg.Dir = s.dir + "/etcd"
	cfg.UnsafeNoFsync = true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if log != io.Discard {
		cfg.LogOutputs = []string{"stderr"}
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewExample())
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	client := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
	peer := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	s.etcd = e
	select {
	case <-e.Server.ReadyNotify():
	case <-ctx.Done():
		return fmt.Errorf("starting etcd: %w", ctx.Err())
	case <-time.After(time.Minute):
		return errors.New("starting etcd: not ready after a minute")
	}
	s.etcdc, err = clientv3.New(clientv3.Config{Endpoints: []string{client.String()}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("connecting to etcd: %w", err)
	}
	return nil
}

// freePorts picks n free loopback ports. Another process could take one
// before etcd binds it; etcd then fails to start, loudly.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Config returns a client config for the server, with all rights. Each
// call returns a copy the caller may change.
func (s *Server) Config() *rest.Config { return rest.CopyConfig(s.config) }

// Dynamic returns a dynamic client with all rights.
func (s *Server) Dynamic() (*dynamic.DynamicClient, error) {
	return dynamic.NewForConfig(s.Config())
}

func (s *Server) extensions() (*apiextensionsclient.Clientset, error) {
	return apiextensionsclient.NewForConfig(s.Config())
}

// Compact compacts etcd up to its current revision: every continue token
// issued before then expires (the server answers 410 Gone).
func (s *Server) Compact(ctx context.Context) error {
	resp, err := s.etcdc.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("reading etcd's revision: %w", err)
	}
	if _, err := s.etcdc.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		return fmt.Errorf("compacting etcd at revision %d: %w", resp.Header.Revision, err)
	}
	return nil
}

// Close stops the server and etcd and removes their files.
func (s *Server) Close() {
	if s.tearDown != nil {
		s.tearDown()
	}
	if s.etcdc != nil {
		s.etcdc.Close()
	}
	if s.etcd != nil {
		s.etcd.Close()
	}
	os.RemoveAll(s.dir)
}

// logger is the test server's Logger, writing to the server's log.
type logger struct{ w io.Writer }

func (l logger) Errorf(format string, args ...any) { fmt.Fprintf(l.w, format+"\n", args...) }
func (l logger) Logf(format string, args ...any)   { fmt.Fprintf(l.w, format+"\n", args...) }

// Fatalf is called only by StartTestServerOrDie, which Start does not use.
func (l logger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// PlatformClient returns a pkg/platformapi client for the server, as a
// stage's would be, with its calls passed through wrap (nil: none), such
// as a RuleTransport.
func (s *Server) PlatformClient(wrap func(http.RoundTripper) http.RoundTripper, opts ...platformapi.Option) (*platformapi.Client, error) {
	cfg := s.Config()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("a transport for the API server: %w", err)
	}
	if wrap != nil {
		rt = wrap(rt)
	}
	return platformapi.NewServer(cfg.Host, cfg.BearerToken, &http.Client{Transport: rt}, opts...), nil
}

// WriteConnection writes a connection directory for the server
// (platformapi.ReadConnection): its URL, the CA of its serving
// certificate, and a token with all rights, readable by the owner only.
// It is how processes outside this one, the local runner and the binaries
// it runs, reach the server.
func (s *Server) WriteConnection(dir string) error {
	ca, err := os.ReadFile(s.servingCert)
	if err != nil {
		return fmt.Errorf("reading the serving certificate: %w", err)
	}
	return platformapi.WriteConnection(dir, s.config.Host, ca, s.config.BearerToken)
}

// ConnectionConfig is a client config for the server a connection
// directory names.
func ConnectionConfig(dir string) (*rest.Config, error) {
	c, err := platformapi.ReadConnection(dir)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: c.URL, BearerToken: c.Token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}, nil
}
