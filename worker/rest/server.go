package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/internal/logging"
	"github.com/connectd/connectd/worker"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes bounds a request body: 1 MiB.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultShutdownTimeout bounds how long Serve waits for requests in
	// flight once its context is done.
	DefaultShutdownTimeout = 10 * time.Second
)

// Options configure a Server.
type Options struct {
	// Worker is the worker the API manages. Required.
	Worker *worker.Worker
	// Levels are the log levels /admin/loggers reads and changes; nil
	// leaves those endpoints out (404).
	Levels *logging.Levels
	// Logger receives request logs (DEBUG) and server-side failures
	// (ERROR); nil discards them. Main passes one named logging.REST.
	Logger *slog.Logger
	// Version and Commit are reported by GET /.
	Version, Commit string
	// ClusterID returns the Kafka cluster's id for GET / (the worker's
	// Kafka admin has it: connector.Admin.ClusterID). The first answer is
	// kept: a cluster's id does not change. Nil reports "".
	ClusterID func(ctx context.Context) (string, error)
	// MaxBodyBytes bounds request bodies; a larger one is a 400. Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ShutdownTimeout bounds Serve's graceful shutdown. Default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Server serves the REST API of one worker. Build it with New; serve it
// with Serve, or mount Handler in a server of your own. Safe for
// concurrent use.
type Server struct {
	opts    Options
	w       *worker.Worker
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler

	clusterMu sync.Mutex
	clusterID string // "" until ClusterID first succeeds

	seenRunning atomic.Bool // the worker ran once: not running now is unhealthy
}

// New checks opts and builds the server's routes. It starts nothing.
func New(opts Options) (*Server, error) {
	if opts.Worker == nil {
		return nil, errors.New("rest: Options.Worker is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{opts: opts, w: opts.Worker, log: opts.Logger, mux: http.NewServeMux()}
	if err := s.routes(); err != nil {
		return nil, err
	}
	s.handler = s.middleware(s.mux)
	return s, nil
}

// Handler returns the API's handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves the API on ln until ctx is done, then shuts down
// gracefully: it stops accepting, waits up to Options.ShutdownTimeout for
// requests in flight, and returns. It returns nil after a shutdown that
// ctx asked for, and the error otherwise (ln failing, or requests still
// running at the deadline). ln is closed when Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("rest: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("rest: shut down: %w", err)
	}
	return nil
}

// apiFunc is an endpoint: it writes its answer, or returns an error for
// the middleware to write as an ErrorMessage.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// routes registers every endpoint. Go's ServeMux patterns give the
// methods; unmatched requests go to s.unmatched, which tells 404 from 405.
func (s *Server) routes() (err error) {
	defer func() {
		// ServeMux.Handle panics on conflicting patterns, a bug of this
		// file that the tests catch; report it rather than crash.
		if p := recover(); p != nil {
			err = fmt.Errorf("rest: routes: %v", p)
		}
	}()
	h := func(pattern string, f apiFunc) { s.mux.Handle(pattern, s.api(f)) }

	h("GET /{$}", s.serverInfo)
	h("GET /health", s.health)

	for _, base := range []string{"/connectors", "/connectors/{$}"} {
		h("GET "+base, s.listConnectors)
		h("POST "+base, s.createConnector)
	}
	h("GET /connectors/{name}", s.getConnector)
	h("DELETE /connectors/{name}", s.deleteConnector)
	h("GET /connectors/{name}/config", s.getConfig)
	h("PUT /connectors/{name}/config", s.putConfig)
	h("PATCH /connectors/{name}/config", s.patchConfig)
	h("GET /connectors/{name}/status", s.getStatus)
	h("PUT /connectors/{name}/pause", s.pause)
	h("PUT /connectors/{name}/resume", s.resume)
	h("PUT /connectors/{name}/stop", s.stop)
	h("POST /connectors/{name}/restart", s.restart)
	h("GET /connectors/{name}/tasks", s.getTasks)
	h("GET /connectors/{name}/tasks/{task}/status", s.getTaskStatus)
	h("POST /connectors/{name}/tasks/{task}/restart", s.restartTask)
	h("GET /connectors/{name}/topics", s.getTopics)
	h("PUT /connectors/{name}/topics/reset", s.resetTopics)
	h("GET /connectors/{name}/offsets", s.getOffsets)
	h("PATCH /connectors/{name}/offsets", s.alterOffsets)
	h("DELETE /connectors/{name}/offsets", s.resetOffsets)
	h("POST /connectors/{name}/offsets/plan", s.planReset) // connectd's extension

	h("GET /connector-plugins", s.listPlugins)
	h("GET /connector-plugins/{$}", s.listPlugins)
	h("GET /connector-plugins/{plugin}/config", s.pluginConfig)
	h("PUT /connector-plugins/{plugin}/config/validate", s.validate)

	if s.opts.Levels != nil {
		h("GET /admin/loggers", s.listLoggers)
		h("GET /admin/loggers/{name}", s.getLogger)
		h("PUT /admin/loggers/{name}", s.setLogger)
	}
	s.mux.HandleFunc("/", s.unmatched)
	return nil
}

// probeMethods are the methods tried to tell a 405 from a 404 (GET
// patterns answer HEAD too).
var probeMethods = [...]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// unmatched answers a request no endpoint took: 405 with an Allow header
// when the path has endpoints for other methods, else 404; the messages
// are the ones Kafka Connect's Jersey gives.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range probeMethods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
		return
	}
	writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
}

// api adapts an apiFunc: its error becomes an ErrorMessage with the
// worker's code (*worker.Error), or 500 with the cause.
func (s *Server) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			code, msg := http.StatusInternalServerError, err.Error()
			var we *worker.Error
			if errors.As(err, &we) {
				code, msg = we.Code, we.Message
			}
			if code >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", msg)
			}
			writeError(w, code, msg)
		}
	})
}

// statusWriter remembers the status written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// middleware bounds request bodies, turns a panic into a 500 (one bad
// request never takes the worker down) and logs each request at DEBUG.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBodyBytes)
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("request panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p))
				}
			}
			s.log.Debug("request", "method", r.Method, "path", r.URL.RequestURI(), "status", sw.status, "took", time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}
