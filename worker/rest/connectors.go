package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/connectd/connectd/worker"
)

// The /connectors endpoints: Kafka Connect's ConnectorsResource.

const (
	createBody = `{"name": "...", "config": {"connector.class": "...", ...}}`
	configBody = `a JSON object of config keys and values, {"connector.class": "...", ...}`
)

func stateInfo(st worker.ConnectorStatus) ConnectorStateInfo {
	out := ConnectorStateInfo{
		Name:      st.Name,
		Connector: ConnectorState{State: string(st.State), WorkerID: st.WorkerID},
		Tasks:     []TaskState{},
		Type:      string(st.Kind),
	}
	for _, t := range st.Tasks {
		out.Tasks = append(out.Tasks, taskState(t))
	}
	return out
}

func taskState(t worker.TaskStatus) TaskState {
	return TaskState{ID: t.ID, State: string(t.State), WorkerID: t.WorkerID, Trace: t.Trace}
}

// location is the Location of a created connector: absolute, as Jersey
// makes Kafka Connect's relative /connectors/<name>.
func location(r *http.Request, name string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/connectors/" + url.PathEscape(name)
}

// checkName is Kafka Connect's check that a config's "name", when given,
// is the connector's.
func checkName(name string, cfgName *string) error {
	if cfgName != nil && *cfgName != name {
		return errorf(http.StatusBadRequest, "Connector name configuration (%s) doesn't match connector name in the URL (%s)", *cfgName, name)
	}
	return nil
}

// GET /connectors[?expand=status&expand=info]
func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) error {
	expand, ok := r.URL.Query()["expand"]
	if !ok {
		writeJSON(w, http.StatusOK, s.w.Connectors())
		return nil
	}
	out := map[string]map[string]any{}
	for _, name := range s.w.Connectors() {
		exp := map[string]any{}
		gone := false
		for _, e := range expand {
			switch e {
			case "status":
				st, err := s.w.StatusOf(name)
				if err != nil {
					gone = true // deleted meanwhile: left out, as Kafka Connect does
					break
				}
				exp["status"] = stateInfo(st)
			case "info":
				info, err := s.w.Info(name)
				if err != nil {
					gone = true
					break
				}
				exp["info"] = info
			}
		}
		if !gone {
			out[name] = exp
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// POST /connectors
func (s *Server) createConnector(w http.ResponseWriter, r *http.Request) error {
	var req CreateConnectorRequest
	if err := decodeBody(r, &req, createBody); err != nil {
		return err
	}
	if req.Config == nil {
		return errorf(http.StatusBadRequest, "The connector's \"config\" is missing; expected %s", createBody)
	}
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	raw, errs := configValues(req.Config)
	if len(errs) > 0 {
		return invalidConfig(raw["connector.class"], errs)
	}
	if n, ok := raw["name"]; ok {
		if err := checkName(name, &n); err != nil {
			return err
		}
	}
	var initial worker.State
	if req.InitialState != nil {
		initial = worker.State(strings.ToUpper(*req.InitialState))
	}
	info, err := s.w.Create(r.Context(), name, raw, initial)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, name))
	writeJSON(w, http.StatusCreated, info)
	return nil
}

// GET /connectors/{name}
func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) error {
	info, err := s.w.Info(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// DELETE /connectors/{name}
func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /connectors/{name}/config
func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) error {
	info, err := s.w.Info(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info.Config)
	return nil
}

// PUT /connectors/{name}/config: 201 when it creates the connector, 200
// when it replaces the config.
func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body, configBody); err != nil {
		return err
	}
	if body == nil {
		return errorf(http.StatusBadRequest, "Request body is null; expected %s", configBody)
	}
	raw, errs := configValues(body)
	if len(errs) > 0 {
		return invalidConfig(raw["connector.class"], errs)
	}
	if n, ok := raw["name"]; ok {
		if err := checkName(name, &n); err != nil {
			return err
		}
	}
	info, created, err := s.w.PutConfig(r.Context(), name, raw)
	if err != nil {
		return err
	}
	if created {
		w.Header().Set("Location", location(r, name))
		writeJSON(w, http.StatusCreated, info)
		return nil
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// PATCH /connectors/{name}/config: keys set to null are removed.
func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body, `a JSON object of the keys to change, with null for the keys to remove`); err != nil {
		return err
	}
	patch := make(map[string]*string, len(body))
	var errs []error
	for k, v := range body {
		if string(v) == "null" {
			patch[k] = nil
			continue
		}
		vals, verrs := configValues(map[string]json.RawMessage{k: v})
		if len(verrs) > 0 {
			errs = append(errs, verrs...)
			continue
		}
		val := vals[k]
		patch[k] = &val
	}
	if len(errs) > 0 {
		sortConfigErrors(errs)
		class := ""
		if c := patch["connector.class"]; c != nil {
			class = *c
		}
		return invalidConfig(class, errs)
	}
	if n, ok := patch["name"]; ok {
		if err := checkName(name, n); err != nil {
			return err
		}
	}
	info, err := s.w.PatchConfig(r.Context(), name, patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// GET /connectors/{name}/status
func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.w.StatusOf(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stateInfo(st))
	return nil
}

// PUT /connectors/{name}/pause: 202.
func (s *Server) pause(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.Pause(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// PUT /connectors/{name}/resume: 202.
func (s *Server) resume(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.Resume(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// PUT /connectors/{name}/stop: 204.
func (s *Server) stop(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.Stop(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /connectors/{name}/restart[?includeTasks=&onlyFailed=]: 204 when
// both are false, else 202 with the status as the restart began.
func (s *Server) restart(w http.ResponseWriter, r *http.Request) error {
	includeTasks := boolParam(r, "includeTasks", false)
	onlyFailed := boolParam(r, "onlyFailed", false)
	st, err := s.w.Restart(r.Context(), r.PathValue("name"), includeTasks, onlyFailed)
	if err != nil {
		return err
	}
	if !includeTasks && !onlyFailed {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusAccepted, stateInfo(st))
	return nil
}

// GET /connectors/{name}/tasks
func (s *Server) getTasks(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	cfgs, err := s.w.TaskConfigs(name)
	if err != nil {
		return err
	}
	out := make([]TaskInfo, len(cfgs))
	for i, c := range cfgs {
		out[i] = TaskInfo{ID: worker.TaskID{Connector: name, Task: i}, Config: c}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// taskID reads the {task} of a path; not a number is JAX-RS's 404.
func taskID(r *http.Request) (int, error) {
	id, err := strconv.Atoi(r.PathValue("task"))
	if err != nil {
		return 0, errorf(http.StatusNotFound, "HTTP 404 Not Found")
	}
	return id, nil
}

// GET /connectors/{name}/tasks/{task}/status
func (s *Server) getTaskStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	st, err := s.w.TaskStatusOf(r.PathValue("name"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, taskState(st))
	return nil
}

// POST /connectors/{name}/tasks/{task}/restart: 204.
func (s *Server) restartTask(w http.ResponseWriter, r *http.Request) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.w.RestartTask(r.Context(), r.PathValue("name"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /connectors/{name}/topics: {"<name>": {"topics": [...]}}.
func (s *Server) getTopics(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	topics, err := s.w.ActiveTopics(name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]ActiveTopicsInfo{name: {Topics: topics}})
	return nil
}

// PUT /connectors/{name}/topics/reset: 202, as Kafka Connect answers.
func (s *Server) resetTopics(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.ResetActiveTopics(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
