package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/connectd/connectd/internal/logging"
)

// GET / (version, commit, Kafka cluster id) and GET /health: Kafka
// Connect's RootResource; and /admin/loggers: its LoggingResource.

// GET /
func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request) error {
	id, err := s.kafkaClusterID(r.Context())
	if err != nil {
		return errorf(http.StatusInternalServerError, "Could not read the Kafka cluster id: %v", err)
	}
	writeJSON(w, http.StatusOK, ServerInfo{Version: s.opts.Version, Commit: s.opts.Commit, KafkaClusterID: id})
	return nil
}

// kafkaClusterID asks Options.ClusterID once it has answered: a cluster's
// id does not change, and GET / keeps answering while Kafka is away.
func (s *Server) kafkaClusterID(ctx context.Context) (string, error) {
	if s.opts.ClusterID == nil {
		return "", nil
	}
	s.clusterMu.Lock()
	defer s.clusterMu.Unlock()
	if s.clusterID != "" {
		return s.clusterID, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id, err := s.opts.ClusterID(ctx)
	if err != nil {
		return "", err
	}
	s.clusterID = id
	return id, nil
}

// GET /health: 200 while the worker runs; 503 while it starts, and once
// it has stopped.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	switch {
	case s.w.Running():
		s.seenRunning.Store(true)
		writeJSON(w, http.StatusOK, WorkerStatus{Status: "healthy", Message: "Worker has completed startup and is ready to handle requests."})
	case s.seenRunning.Load():
		writeJSON(w, http.StatusServiceUnavailable, WorkerStatus{Status: "unhealthy", Message: "Worker was unable to handle this request and may be unable to handle other requests. The worker has stopped running its connectors (it is shutting down)."})
	default:
		writeJSON(w, http.StatusServiceUnavailable, WorkerStatus{Status: "starting", Message: "Worker is still starting up."})
	}
	return nil
}

func loggerLevel(lg logging.Logger) LoggerLevel {
	out := LoggerLevel{Level: logging.LevelName(lg.Level)}
	if !lg.LastModified.IsZero() {
		ms := lg.LastModified.UnixMilli()
		out.LastModified = &ms
	}
	return out
}

// GET /admin/loggers: every known logger, root included.
func (s *Server) listLoggers(w http.ResponseWriter, r *http.Request) error {
	out := map[string]LoggerLevel{}
	for _, lg := range s.opts.Levels.All() {
		out[lg.Name] = loggerLevel(lg)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// GET /admin/loggers/{name}
func (s *Server) getLogger(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	lg, ok := s.opts.Levels.Get(name)
	if !ok {
		return errorf(http.StatusNotFound, "Logger %s not found.", name)
	}
	writeJSON(w, http.StatusOK, loggerLevel(lg))
	return nil
}

// PUT /admin/loggers/{name}[?scope=worker|cluster] with {"level": "..."}:
// sets the logger and its descendants; 200 with the names of the loggers
// set. A standalone worker is its whole cluster, so scope=cluster sets
// the same loggers and answers 204, as Kafka Connect does for that scope.
func (s *Server) setLogger(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body, `{"level": "DEBUG"}`); err != nil {
		return err
	}
	rawLevel, ok := body["level"]
	if !ok || string(rawLevel) == "null" {
		return errorf(http.StatusBadRequest, "Desired 'level' parameter was not specified in request.")
	}
	var lv string
	if err := json.Unmarshal(rawLevel, &lv); err != nil {
		return errorf(http.StatusBadRequest, "Malformed JSON in request body: \"level\" is %s, not a string; expected {\"level\": \"DEBUG\"}", rawLevel)
	}
	level, err := logging.ParseLevel(lv)
	if err != nil {
		// Kafka Connect answers an unknown level with 404 (its
		// NotFoundException), in these words.
		return errorf(http.StatusNotFound, "invalid log level '%s'.", lv)
	}
	affected := s.opts.Levels.Set(name, level)
	s.log.Info("log level set", "logger_name", name, "to", logging.LevelName(level), "affected", len(affected))
	if scope := r.URL.Query().Get("scope"); strings.EqualFold(scope, "cluster") {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, affected)
	return nil
}
