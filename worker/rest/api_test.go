package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/worker/rest"
)

// TestAPI drives every endpoint over real HTTP against a running worker
// (real Kafka adapter, embedded broker, generator and file sink), error
// paths included, and checks status codes and bodies against Kafka
// Connect 3.9's shapes with literal expected values.
func TestAPI(t *testing.T) {
	e := newEnv(t)
	const workerID = "127.0.0.1:8083"
	const n = 3000
	dir := filepath.Join(t.TempDir(), "files")
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	// --- Health and root, before and after the worker starts.
	e.want(t, "GET", "/health", nil, http.StatusServiceUnavailable, `{"status":"starting","message":"Worker is still starting up."}`)
	e.run()
	waitFor(t, 10*time.Second, func() bool { return e.do(t, "GET", "/health", nil).status == http.StatusOK }, func() string { return "health never 200" })
	e.want(t, "GET", "/health", nil, http.StatusOK, `{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}`)
	e.want(t, "GET", "/", nil, http.StatusOK, `{"version":"1.2.3","commit":"abc123","kafka_cluster_id":"connectd-embedded"}`)

	// --- Routing errors.
	e.wantErr(t, "GET", "/nope", nil, http.StatusNotFound, "HTTP 404 Not Found")
	e.wantErr(t, "GET", "/connectors/a/b/c", nil, http.StatusNotFound, "HTTP 404 Not Found")
	r := e.wantErr(t, "DELETE", "/connectors", nil, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	if got := r.header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("405 Allow %q, want %q", got, "GET, HEAD, POST")
	}
	r = e.wantErr(t, "POST", "/connectors/x/status", nil, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	if got := r.header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("405 Allow %q, want %q", got, "GET, HEAD")
	}
	e.wantErr(t, "PUT", "/admin/loggers", nil, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")

	// --- Plugins.
	e.want(t, "GET", "/connector-plugins", nil, http.StatusOK, `[
		{"class":"io.connectd.file.FileSinkConnector","type":"sink","version":"0.1.0"},
		{"class":"io.connectd.generator.GeneratorSourceConnector","type":"source","version":"0.1.0"}]`)
	e.want(t, "GET", "/connector-plugins?connectorsOnly=false", nil, http.StatusOK, `[
		{"class":"io.connectd.file.FileSinkConnector","type":"sink","version":"0.1.0"},
		{"class":"io.connectd.generator.GeneratorSourceConnector","type":"source","version":"0.1.0"},
		{"class":"io.connectd.transforms.ValidateClickEvent","type":"transformation","version":"0.1.0"},
		{"class":"org.apache.kafka.connect.converters.ByteArrayConverter","type":"converter"},
		{"class":"org.apache.kafka.connect.json.JsonConverter","type":"converter"},
		{"class":"org.apache.kafka.connect.storage.StringConverter","type":"converter"}]`)
	testPluginConfig(t, e)
	testValidate(t, e)

	// --- Create: error paths first.
	e.wantErr(t, "POST", "/connectors", `{"name": "x", "config": {`, http.StatusBadRequest,
		`Malformed JSON in request body: it ends early (after 25 bytes); expected {"name": "...", "config": {"connector.class": "...", ...}}`)
	e.wantErr(t, "POST", "/connectors", `{"name": "x" "config": {}}`, http.StatusBadRequest,
		`Malformed JSON in request body: invalid character '"' after object key:value pair (at byte 14); expected {"name": "...", "config": {"connector.class": "...", ...}}`)
	e.wantErr(t, "POST", "/connectors", `{"name": 5, "config": {}}`, http.StatusBadRequest,
		`Malformed JSON in request body: "name" is a JSON number, not a string; expected {"name": "...", "config": {"connector.class": "...", ...}}`)
	e.wantErr(t, "POST", "/connectors", `{"name": "x", "config": {}, "tasks": []}`, http.StatusBadRequest,
		`Malformed JSON in request body: json: unknown field "tasks"; expected {"name": "...", "config": {"connector.class": "...", ...}}`)
	e.wantErr(t, "POST", "/connectors", "", http.StatusBadRequest,
		`Request body is empty; expected {"name": "...", "config": {"connector.class": "...", ...}}`)
	e.wantErr(t, "POST", "/connectors", `{"name": "x"}`, http.StatusBadRequest,
		`The connector's "config" is missing; expected {"name": "...", "config": {"connector.class": "...", ...}}`)
	big := `{"name": "x", "config": {"pad": "` + strings.Repeat("x", 1<<20) + `"}}`
	e.wantErr(t, "POST", "/connectors", big, http.StatusBadRequest, "Request body is larger than the limit of 1048576 bytes")
	e.wantErr(t, "POST", "/connectors", map[string]any{"name": "x", "config": map[string]any{"name": "y", "connector.class": "file"}}, http.StatusBadRequest,
		"Connector name configuration (y) doesn't match connector name in the URL (x)")
	e.wantErr(t, "POST", "/connectors", map[string]any{"config": map[string]any{"connector.class": "file", "topics": "clicks", "file.dir": dir}}, http.StatusBadRequest,
		"Connector configuration is invalid and contains the following 1 error(s):\nconfig key \"name\": is required: give the connector a name\nYou can also find the above list of errors at the endpoint `/connector-plugins/file/config/validate`")
	e.wantErr(t, "POST", "/connectors", map[string]any{"name": "bad", "config": map[string]any{"connector.class": "file", "topics": "clicks", "file.dir": dir, "flush.size": "abc"}}, http.StatusBadRequest,
		"Connector configuration is invalid and contains the following 1 error(s):\nconfig key \"flush.size\": \"abc\" is not a whole number\nYou can also find the above list of errors at the endpoint `/connector-plugins/file/config/validate`")
	e.wantErr(t, "POST", "/connectors", map[string]any{"name": "bad", "config": map[string]any{"connector.class": "file", "topics": []string{"a"}, "file.dir": nil}}, http.StatusBadRequest,
		"Connector configuration is invalid and contains the following 2 error(s):\nconfig key \"file.dir\": is null: a value can not be null; remove the key instead\nconfig key \"topics\": must be a string, number or boolean, not a JSON object or array (lists are comma-separated strings)\nYou can also find the above list of errors at the endpoint `/connector-plugins/file/config/validate`")
	e.wantErr(t, "POST", "/connectors", map[string]any{"name": "bad", "config": map[string]any{"connector.class": "file"}, "initial_state": "SLEEPING"}, http.StatusBadRequest,
		`initial_state "SLEEPING" is not one of RUNNING, PAUSED, STOPPED`)
	e.want(t, "GET", "/connectors", nil, http.StatusOK, `[]`)

	// --- Create a generator (POST, numbers as values) and a file sink
	// (PUT .../config creating it).
	genCfg := map[string]any{
		"connector.class": "generator", "topic": "clicks", "max.events": n, "events.per.second": 0,
		"users": 500, "seed": 7, "start.time": start.Format(time.RFC3339),
		"topic.creation.default.partitions": "2", "transaction.boundary.interval.ms": "100",
	}
	genInfo := map[string]any{"name": "gen", "config": withName(stringsOf(genCfg), "gen"), "tasks": []any{map[string]any{"connector": "gen", "task": 0}}, "type": "source"}
	r = e.want(t, "POST", "/connectors", map[string]any{"name": "gen", "config": genCfg}, http.StatusCreated, jsonOf(t, genInfo))
	if got := r.header.Get("Location"); got != e.url+"/connectors/gen" {
		t.Errorf("Location %q, want %q", got, e.url+"/connectors/gen")
	}
	e.wantErr(t, "POST", "/connectors", map[string]any{"name": "gen", "config": genCfg}, http.StatusConflict, "Connector gen already exists")

	sinkCfg := map[string]string{
		"connector.class": "FileSinkConnector", "topics": "clicks", "file.dir": dir,
		"flush.size": "500", "flush.interval.ms": "200", "offset.flush.interval.ms": "200", "file.fsync": "false",
		"consumer.override.heartbeat.interval.ms": "100", "consumer.override.session.timeout.ms": "6000",
		"consumer.override.max.poll.interval.ms": "10000", "consumer.override.fetch.max.wait.ms": "50",
	}
	sinkInfo := func(cfg map[string]string) string {
		return jsonOf(t, map[string]any{"name": "files", "config": withName(cfg, "files"), "tasks": []any{map[string]any{"connector": "files", "task": 0}}, "type": "sink"})
	}
	e.wantErr(t, "PUT", "/connectors/files/config", withName(sinkCfg, "other"), http.StatusBadRequest,
		"Connector name configuration (other) doesn't match connector name in the URL (files)")
	r = e.want(t, "PUT", "/connectors/files/config", sinkCfg, http.StatusCreated, sinkInfo(sinkCfg))
	if got := r.header.Get("Location"); got != e.url+"/connectors/files" {
		t.Errorf("Location %q, want %q", got, e.url+"/connectors/files")
	}

	// --- Data flows.
	e.waitState(t, "gen", "RUNNING")
	e.waitState(t, "files", "RUNNING")
	waitFor(t, 30*time.Second, func() bool { v, _ := fileValues(t, dir); return len(v) >= n },
		func() string { v, _ := fileValues(t, dir); return fmt.Sprintf("files hold %d of %d events", len(v), n) })
	checkFilesOnce(t, e, dir, n)

	// --- Reading connectors.
	e.want(t, "GET", "/connectors", nil, http.StatusOK, `["files","gen"]`)
	e.want(t, "GET", "/connectors/", nil, http.StatusOK, `["files","gen"]`)
	running := func(name, typ string) map[string]any {
		return map[string]any{
			"name": name, "connector": map[string]any{"state": "RUNNING", "worker_id": workerID},
			"tasks": []any{map[string]any{"id": 0, "state": "RUNNING", "worker_id": workerID}}, "type": typ,
		}
	}
	e.want(t, "GET", "/connectors?expand=status", nil, http.StatusOK, jsonOf(t, map[string]any{
		"files": map[string]any{"status": running("files", "sink")}, "gen": map[string]any{"status": running("gen", "source")},
	}))
	var sinkInfoV, genInfoV any
	_ = json.Unmarshal([]byte(sinkInfo(sinkCfg)), &sinkInfoV)
	_ = json.Unmarshal([]byte(jsonOf(t, genInfo)), &genInfoV)
	e.want(t, "GET", "/connectors?expand=info", nil, http.StatusOK, jsonOf(t, map[string]any{
		"files": map[string]any{"info": sinkInfoV}, "gen": map[string]any{"info": genInfoV},
	}))
	e.want(t, "GET", "/connectors?expand=status&expand=info", nil, http.StatusOK, jsonOf(t, map[string]any{
		"files": map[string]any{"status": running("files", "sink"), "info": sinkInfoV},
		"gen":   map[string]any{"status": running("gen", "source"), "info": genInfoV},
	}))
	e.want(t, "GET", "/connectors?expand=nothing", nil, http.StatusOK, `{"files":{},"gen":{}}`)
	e.want(t, "GET", "/connectors/files", nil, http.StatusOK, sinkInfo(sinkCfg))
	e.want(t, "GET", "/connectors/files/config", nil, http.StatusOK, jsonOf(t, withName(sinkCfg, "files")))
	e.want(t, "GET", "/connectors/files/status", nil, http.StatusOK, jsonOf(t, running("files", "sink")))
	e.want(t, "GET", "/connectors/files/tasks", nil, http.StatusOK, jsonOf(t, []any{
		map[string]any{"id": map[string]any{"connector": "files", "task": 0}, "config": withName(withKey(sinkCfg, "task.id", "0"), "")},
	}))
	e.want(t, "GET", "/connectors/files/tasks/0/status", nil, http.StatusOK, `{"id":0,"state":"RUNNING","worker_id":"`+workerID+`"}`)
	e.wantErr(t, "GET", "/connectors/files/tasks/7/status", nil, http.StatusNotFound, "Task files-7 not found")
	e.wantErr(t, "GET", "/connectors/files/tasks/x/status", nil, http.StatusNotFound, "HTTP 404 Not Found")
	for _, c := range []struct{ method, path string }{
		{"GET", ""}, {"DELETE", ""}, {"GET", "/config"}, {"GET", "/status"}, {"PUT", "/pause"}, {"PUT", "/resume"},
		{"PUT", "/stop"}, {"POST", "/restart"}, {"GET", "/tasks"}, {"GET", "/tasks/0/status"}, {"POST", "/tasks/0/restart"},
		{"GET", "/topics"}, {"PUT", "/topics/reset"}, {"GET", "/offsets"}, {"DELETE", "/offsets"},
	} {
		e.wantErr(t, c.method, "/connectors/nope"+c.path, nil, http.StatusNotFound, "Connector nope not found")
	}
	e.wantErr(t, "PATCH", "/connectors/nope/config", `{"tasks.max": "2"}`, http.StatusNotFound, "Connector nope not found")

	// --- Topics (KIP-558).
	e.want(t, "GET", "/connectors/files/topics", nil, http.StatusOK, `{"files":{"topics":["clicks"]}}`)
	e.want(t, "GET", "/connectors/gen/topics", nil, http.StatusOK, `{"gen":{"topics":["clicks"]}}`)
	e.want(t, "PUT", "/connectors/files/topics/reset", nil, http.StatusAccepted, "")
	e.want(t, "GET", "/connectors/files/topics", nil, http.StatusOK, `{"files":{"topics":[]}}`)

	// --- Offsets of the source, once it has produced everything.
	var genOffsets string
	waitFor(t, 20*time.Second, func() bool {
		genOffsets = string(e.do(t, "GET", "/connectors/gen/offsets", nil).body)
		return strings.Contains(genOffsets, fmt.Sprintf(`"position":%d`, n))
	}, func() string { return "gen offsets " + genOffsets })
	genOffset := func(pos int) string {
		return fmt.Sprintf(`{"partition":{"task":0,"tasks":1},"offset":{"position":%d,"start_ms":%d}}`, pos, start.UnixMilli())
	}
	e.want(t, "GET", "/connectors/gen/offsets", nil, http.StatusOK, `{"offsets":[`+genOffset(n)+`]}`)

	// --- Lifecycle: pause, resume, stop, resume, restarts.
	paused := `{"name":"files","connector":{"state":"PAUSED","worker_id":"` + workerID + `"},"tasks":[{"id":0,"state":"PAUSED","worker_id":"` + workerID + `"}],"type":"sink"}`
	e.want(t, "PUT", "/connectors/files/pause", nil, http.StatusAccepted, "")
	e.want(t, "GET", "/connectors/files/status", nil, http.StatusOK, paused)
	e.want(t, "PUT", "/connectors/files/pause", nil, http.StatusAccepted, "") // idempotent
	e.want(t, "PUT", "/connectors/files/resume", nil, http.StatusAccepted, "")
	e.waitState(t, "files", "RUNNING")
	e.want(t, "PUT", "/connectors/files/stop", nil, http.StatusNoContent, "")
	e.want(t, "GET", "/connectors/files/status", nil, http.StatusOK, `{"name":"files","connector":{"state":"STOPPED","worker_id":"`+workerID+`"},"tasks":[],"type":"sink"}`)
	e.want(t, "GET", "/connectors/files/tasks", nil, http.StatusOK, `[]`)
	e.want(t, "GET", "/connectors/files", nil, http.StatusOK, `{"name":"files","config":`+jsonOf(t, withName(sinkCfg, "files"))+`,"tasks":[],"type":"sink"}`)
	e.want(t, "PUT", "/connectors/files/resume", nil, http.StatusAccepted, "")
	e.waitState(t, "files", "RUNNING")

	e.want(t, "POST", "/connectors/files/restart?includeTasks=true", nil, http.StatusAccepted,
		`{"name":"files","connector":{"state":"RESTARTING","worker_id":"`+workerID+`"},"tasks":[{"id":0,"state":"RESTARTING","worker_id":"`+workerID+`"}],"type":"sink"}`)
	e.waitState(t, "files", "RUNNING")
	e.want(t, "POST", "/connectors/files/restart?includeTasks=true&onlyFailed=true", nil, http.StatusAccepted, jsonOf(t, running("files", "sink")))
	e.want(t, "POST", "/connectors/files/restart", nil, http.StatusNoContent, "")
	e.want(t, "POST", "/connectors/files/restart?includeTasks=false&onlyFailed=false", nil, http.StatusNoContent, "")
	e.want(t, "POST", "/connectors/files/tasks/0/restart", nil, http.StatusNoContent, "")
	e.wantErr(t, "POST", "/connectors/files/tasks/7/restart", nil, http.StatusNotFound, "Task files-7 not found")
	e.waitState(t, "files", "RUNNING")

	// --- Config changes: PUT (200), PATCH (null removes).
	sinkCfg["flush.size"] = "400"
	e.want(t, "PUT", "/connectors/files/config", sinkCfg, http.StatusOK, sinkInfo(sinkCfg))
	e.wantErr(t, "PATCH", "/connectors/files/config", `{"flush.size": "many"}`, http.StatusBadRequest,
		"Connector configuration is invalid and contains the following 1 error(s):\nconfig key \"flush.size\": \"many\" is not a whole number\nYou can also find the above list of errors at the endpoint `/connector-plugins/FileSinkConnector/config/validate`")
	e.wantErr(t, "PATCH", "/connectors/files/config", `{"name": "other"}`, http.StatusBadRequest,
		"Connector name configuration (other) doesn't match connector name in the URL (files)")
	e.wantErr(t, "PATCH", "/connectors/files/config", `["flush.size"]`, http.StatusBadRequest,
		"Malformed JSON in request body: the body is a JSON array, not an object; expected a JSON object of the keys to change, with null for the keys to remove")
	delete(sinkCfg, "file.fsync")
	sinkCfg["flush.size"] = "500"
	e.want(t, "PATCH", "/connectors/files/config", `{"file.fsync": null, "flush.size": 500}`, http.StatusOK, sinkInfo(sinkCfg))
	e.want(t, "GET", "/connectors/files/config", nil, http.StatusOK, jsonOf(t, withName(sinkCfg, "files")))
	e.waitState(t, "files", "RUNNING")

	// --- Sink offsets, and a replay through them.
	testSinkOffsets(t, e, dir, n)

	// --- Source offsets: alter and reset while stopped.
	e.wantErr(t, "DELETE", "/connectors/gen/offsets", nil, http.StatusBadRequest,
		"Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/gen/stop' endpoint")
	e.want(t, "PUT", "/connectors/gen/stop", nil, http.StatusNoContent, "")
	e.want(t, "PATCH", "/connectors/gen/offsets", `{"offsets":[`+genOffset(1000)+`]}`, http.StatusOK,
		`{"message":"The offsets for this connector have been altered successfully"}`)
	e.want(t, "GET", "/connectors/gen/offsets", nil, http.StatusOK, `{"offsets":[`+genOffset(1000)+`]}`)
	e.want(t, "DELETE", "/connectors/gen/offsets", nil, http.StatusOK, `{"message":"The offsets for this connector have been reset successfully"}`)
	e.want(t, "GET", "/connectors/gen/offsets", nil, http.StatusOK, `{"offsets":[]}`)
	e.wantErr(t, "POST", "/connectors/gen/offsets/plan", `{"to":"latest"}`, http.StatusBadRequest,
		"connector gen is a source: only a reset to the earliest position (its beginning) is possible")
	e.want(t, "POST", "/connectors/gen/offsets/plan", `{"to":"earliest"}`, http.StatusOK, `{"plan":[]}`)

	// --- Delete.
	e.want(t, "DELETE", "/connectors/gen", nil, http.StatusNoContent, "")
	e.wantErr(t, "GET", "/connectors/gen", nil, http.StatusNotFound, "Connector gen not found")
	e.want(t, "GET", "/connectors", nil, http.StatusOK, `["files"]`)

	// --- initial_state (KIP-980), case-insensitive: created STOPPED, no tasks.
	stoppedCfg := map[string]string{"connector.class": "file", "topics": "clicks", "file.dir": filepath.Join(dir, "other")}
	e.want(t, "POST", "/connectors", map[string]any{"name": "later", "config": stoppedCfg, "initial_state": "stopped"}, http.StatusCreated,
		jsonOf(t, map[string]any{"name": "later", "config": withName(stoppedCfg, "later"), "tasks": []any{}, "type": "sink"}))
	e.want(t, "GET", "/connectors/later/status", nil, http.StatusOK, `{"name":"later","connector":{"state":"STOPPED","worker_id":"`+workerID+`"},"tasks":[],"type":"sink"}`)
	e.want(t, "DELETE", "/connectors/later", nil, http.StatusNoContent, "")

	// --- Loggers.
	testLoggers(t, e)

	// --- Health once the worker has stopped, then a graceful shutdown.
	e.stop(t)
	e.want(t, "GET", "/health", nil, http.StatusServiceUnavailable,
		`{"status":"unhealthy","message":"Worker was unable to handle this request and may be unable to handle other requests. The worker has stopped running its connectors (it is shutting down)."}`)
	e.shutdownServer(t)
}

// testPluginConfig checks GET /connector-plugins/{plugin}/config.
func testPluginConfig(t *testing.T, e *env) {
	t.Helper()
	keys := func(path string) []rest.ConfigKeyInfo {
		r := e.want(t, "GET", path, nil, http.StatusOK, anyBody)
		var out []rest.ConfigKeyInfo
		decode(t, r, &out)
		return out
	}
	names := func(ks []rest.ConfigKeyInfo) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Name)
		}
		return out
	}
	file := keys("/connector-plugins/file/config")
	got := names(file)
	if want := []string{"file.dir", "flush.size", "flush.interval.ms", "file.fsync"}; !slices.Equal(got[:4], want) {
		t.Errorf("file sink keys start %v, want %v", got[:4], want)
	}
	for _, k := range []string{"name", "connector.class", "tasks.max", "topics", "topics.regex", "errors.tolerance", "errors.deadletterqueue.topic.name"} {
		if !slices.Contains(got, k) {
			t.Errorf("file sink keys %v lack %q", got, k)
		}
	}
	if slices.Contains(got, "offsets.storage.topic") {
		t.Errorf("file sink keys %v hold a source key", got)
	}
	byName := map[string]rest.ConfigKeyInfo{}
	for _, k := range file {
		if _, dup := byName[k.Name]; dup {
			t.Errorf("key %s listed twice", k.Name)
		}
		byName[k.Name] = k
	}
	sameJSON(t, "file.dir", []byte(jsonOf(t, byName["file.dir"])), []byte(`{"name":"file.dir","type":"STRING","required":true,"default_value":null,"importance":"HIGH",
		"documentation":"directory the files are written under, one subdirectory per topic; created when missing","group":"FileSinkConnector","order":1,
		"width":"NONE","display_name":"file.dir","dependents":[]}`))
	sameJSON(t, "flush.interval.ms", []byte(jsonOf(t, byName["flush.interval.ms"])), []byte(`{"name":"flush.interval.ms","type":"LONG","required":false,"default_value":"10000","importance":"MEDIUM",
		"documentation":"a partition's buffer whose first record arrived this long ago (wall clock) is written at the next offset flush, however small; 0 writes every buffer at every flush (ms)",
		"group":"FileSinkConnector","order":3,"width":"NONE","display_name":"flush.interval.ms","dependents":[]}`))
	sameJSON(t, "connector.class", []byte(jsonOf(t, byName["connector.class"])), []byte(`{"name":"connector.class","type":"STRING","required":true,"default_value":null,"importance":"HIGH",
		"documentation":"the plugin to run, by class or alias","group":"Common","order":2,"width":"NONE","display_name":"connector.class","dependents":[]}`))
	sameJSON(t, "errors.tolerance", []byte(jsonOf(t, byName["errors.tolerance"])), []byte(`{"name":"errors.tolerance","type":"STRING","required":false,"default_value":"none","importance":"LOW",
		"documentation":"none: a bad record fails the task; all: it is skipped (and sent to the dead-letter topic when one is set)","group":"Error Handling","order":1,"width":"NONE","display_name":"errors.tolerance","dependents":[]}`))
	if full := names(keys("/connector-plugins/io.connectd.file.FileSinkConnector/config")); !slices.Equal(full, got) {
		t.Errorf("by class: %v, by alias: %v", full, got)
	}
	gen := names(keys("/connector-plugins/GeneratorSourceConnector/config"))
	if !slices.Contains(gen, "max.events") || !slices.Contains(gen, "offsets.storage.topic") || slices.Contains(gen, "topics") {
		t.Errorf("generator keys %v", gen)
	}
	if got := names(keys("/connector-plugins/validate/config")); !slices.Equal(got, []string{"required.fields", "number.fields", "allowed.event.types"}) {
		t.Errorf("validate transform keys %v", got)
	}
	e.want(t, "GET", "/connector-plugins/JsonConverter/config", nil, http.StatusOK, `[]`)
	e.wantErr(t, "GET", "/connector-plugins/nope/config", nil, http.StatusNotFound, "Unknown plugin nope.")
}

// validateResult sends a validation and decodes its ConfigInfos, checking
// that error_count counts the errors.
func validateResult(t *testing.T, e *env, plugin string, cfg map[string]any) (rest.ConfigInfos, map[string]rest.ConfigInfo) {
	t.Helper()
	r := e.want(t, "PUT", "/connector-plugins/"+plugin+"/config/validate", cfg, http.StatusOK, anyBody)
	var infos rest.ConfigInfos
	decode(t, r, &infos)
	byName := map[string]rest.ConfigInfo{}
	count := 0
	for _, c := range infos.Configs {
		if c.Value == nil {
			t.Fatalf("%s: an entry without a value: %+v", r, c)
		}
		if c.Definition != nil && c.Definition.Name != c.Value.Name {
			t.Errorf("%s: definition %s holds value %s", r, c.Definition.Name, c.Value.Name)
		}
		if _, dup := byName[c.Value.Name]; dup {
			t.Errorf("%s: %s listed twice", r, c.Value.Name)
		}
		byName[c.Value.Name] = c
		count += len(c.Value.Errors)
	}
	if count != infos.ErrorCount {
		t.Errorf("%s: error_count %d, but %d errors listed", r, infos.ErrorCount, count)
	}
	return infos, byName
}

// testValidate checks PUT /connector-plugins/{plugin}/config/validate.
func testValidate(t *testing.T, e *env) {
	t.Helper()
	good := map[string]any{"connector.class": "file", "name": "v", "topics": "clicks", "file.dir": "/tmp/x"}
	infos, byName := validateResult(t, e, "file", good)
	if infos.Name != "file" || infos.ErrorCount != 0 {
		t.Errorf("good config: name %q, error_count %d", infos.Name, infos.ErrorCount)
	}
	if want := []string{"Common", "Transforms", "Error Handling", "FileSinkConnector"}; !slices.Equal(infos.Groups, want) {
		t.Errorf("groups %v, want %v", infos.Groups, want)
	}
	sameJSON(t, "errors.tolerance value", []byte(jsonOf(t, byName["errors.tolerance"].Value)),
		[]byte(`{"name":"errors.tolerance","value":"none","recommended_values":["none","all"],"errors":[],"visible":true}`))
	sameJSON(t, "file.dir value", []byte(jsonOf(t, byName["file.dir"].Value)),
		[]byte(`{"name":"file.dir","value":"/tmp/x","recommended_values":[],"errors":[],"visible":true}`))
	sameJSON(t, "topics.regex value", []byte(jsonOf(t, byName["topics.regex"].Value)),
		[]byte(`{"name":"topics.regex","value":"","recommended_values":[],"errors":[],"visible":true}`))

	// Every problem on its field; an unknown key without a definition.
	bad := map[string]any{"connector.class": "io.connectd.file.FileSinkConnector", "topics": "clicks", "file.dir": "/tmp/x",
		"flush.size": "abc", "flush.sise": 10, "tasks.max": 0}
	infos, byName = validateResult(t, e, "FileSinkConnector", bad)
	if infos.Name != "io.connectd.file.FileSinkConnector" || infos.ErrorCount != 4 {
		t.Errorf("bad config: name %q, error_count %d, want 4", infos.Name, infos.ErrorCount)
	}
	sameJSON(t, "first entry", []byte(jsonOf(t, infos.Configs[0])), []byte(`{"definition":null,"value":{"name":"flush.sise","value":"10","recommended_values":[],
		"errors":["config key \"flush.sise\": is not a key of connector file; did you mean \"flush.size\"?"],"visible":true}}`))
	for key, msg := range map[string]string{
		"flush.size": `config key "flush.size": "abc" is not a whole number`,
		"tasks.max":  `config key "tasks.max": 0 is below the minimum 1`,
		"name":       `config key "name": is required: give the connector a name`,
	} {
		c := byName[key]
		if c.Definition == nil || !slices.Equal(c.Value.Errors, []string{msg}) {
			t.Errorf("%s: definition %v, errors %q; want [%q]", key, c.Definition != nil, c.Value.Errors, msg)
		}
	}
	if v := byName["flush.size"].Value.Value; v == nil || *v != "abc" {
		t.Errorf("flush.size value %v, want abc", v)
	}

	// Transforms get their definitions; their unknown keys are errors.
	withTransform := maps.Clone(good)
	maps.Copy(withTransform, map[string]any{"transforms": "v", "transforms.v.type": "validate", "transforms.v.required.fieldz": "a"})
	infos, byName = validateResult(t, e, "file", withTransform)
	if infos.ErrorCount != 1 || byName["transforms.v.required.fieldz"].Definition != nil || len(byName["transforms.v.required.fieldz"].Value.Errors) != 1 {
		t.Errorf("transform: error_count %d, entry %+v", infos.ErrorCount, byName["transforms.v.required.fieldz"].Value)
	}
	if !slices.Contains(infos.Groups, "Transforms: v") || byName["transforms.v.type"].Definition == nil || byName["transforms.v.required.fields"].Definition == nil {
		t.Errorf("transform definitions missing: groups %v", infos.Groups)
	}

	// An unknown class is an error on connector.class.
	infos, byName = validateResult(t, e, "nope", map[string]any{"connector.class": "nope", "name": "v"})
	if infos.ErrorCount != 1 || !slices.Equal(byName["connector.class"].Value.Errors,
		[]string{`config key "connector.class": "nope" is not an installed connector; installed: io.connectd.file.FileSinkConnector, io.connectd.generator.GeneratorSourceConnector`}) {
		t.Errorf("unknown class: error_count %d, connector.class %+v", infos.ErrorCount, byName["connector.class"].Value)
	}

	e.wantErr(t, "PUT", "/connector-plugins/generator/config/validate", good, http.StatusBadRequest,
		"Included connector type file does not match request type generator")
	e.wantErr(t, "PUT", "/connector-plugins/file/config/validate", map[string]any{"topics": "a", "tasks.max": 2}, http.StatusBadRequest,
		"Connector config {tasks.max=2, topics=a} contains no connector type")
	e.wantErr(t, "PUT", "/connector-plugins/file/config/validate", `{"connector.class": "file",}`, http.StatusBadRequest,
		`Malformed JSON in request body: invalid character '}' looking for beginning of object key string (at byte 28); expected a JSON object of config keys and values, {"connector.class": "...", ...}`)
}

// testSinkOffsets checks the sink's offsets API and replays through it:
// PATCH to offset 0 and DELETE both make the sink write every record
// again, and the files still hold each exactly once.
func testSinkOffsets(t *testing.T, e *env, dir string, n int) {
	t.Helper()
	recs, err := e.k.Reader().ReadAll(t.Context(), "clicks")
	if err != nil {
		t.Fatal(err)
	}
	last := map[int32]int64{}
	for _, r := range recs {
		last[r.Partition] = max(last[r.Partition], r.Offset)
	}
	var committed map[int32]int64
	waitFor(t, 20*time.Second, func() bool {
		committed = e.sinkOffsets(t, "files")
		return len(committed) == 2 && committed[0] > last[0] && committed[1] > last[1]
	}, func() string { return fmt.Sprintf("committed %v, last records at %v", committed, last) })
	sinkOffsetsJSON := func(o0, o1 int64) string {
		return fmt.Sprintf(`{"offsets":[{"partition":{"kafka_topic":"clicks","kafka_partition":0},"offset":{"kafka_offset":%d}},`+
			`{"partition":{"kafka_topic":"clicks","kafka_partition":1},"offset":{"kafka_offset":%d}}]}`, o0, o1)
	}
	e.want(t, "GET", "/connectors/files/offsets", nil, http.StatusOK, sinkOffsetsJSON(committed[0], committed[1]))

	// The backfill plan (connectd's extension) changes nothing.
	e.want(t, "POST", "/connectors/files/offsets/plan", `{"to":"earliest"}`, http.StatusOK, fmt.Sprintf(`{"plan":[
		{"topic":"clicks","partition":0,"current":%d,"target":0,"replay":%d,"adjusted":false},
		{"topic":"clicks","partition":1,"current":%d,"target":0,"replay":%d,"adjusted":false}]}`,
		committed[0], committed[0], committed[1], committed[1]))
	e.wantErr(t, "POST", "/connectors/files/offsets/plan", `{"to":"sideways"}`, http.StatusBadRequest,
		`reset "sideways" is not one of earliest, latest, datetime, offsets, shift`)
	e.want(t, "GET", "/connectors/files/offsets", nil, http.StatusOK, sinkOffsetsJSON(committed[0], committed[1]))

	toZero := sinkOffsetsJSON(0, 0)
	stoppedMsg := "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/files/stop' endpoint"
	e.wantErr(t, "PATCH", "/connectors/files/offsets", toZero, http.StatusBadRequest, stoppedMsg)
	e.wantErr(t, "DELETE", "/connectors/files/offsets", nil, http.StatusBadRequest, stoppedMsg)
	e.wantErr(t, "PATCH", "/connectors/files/offsets", `{"offsets":[]}`, http.StatusBadRequest, "Partitions / offsets need to be provided for an alter offsets request")
	e.wantErr(t, "PATCH", "/connectors/files/offsets", `{"offsets":[{"partition":{},"offset":{}}], "extra": 1}`, http.StatusBadRequest,
		`Malformed JSON in request body: json: unknown field "extra"; expected {"offsets": [{"partition": {...}, "offset": {...}}, ...]}`)

	// Turn the sink's logger up: its DEBUG lines appear, nobody else's.
	e.want(t, "PUT", "/admin/loggers/connector.files", `{"level":"debug"}`, http.StatusOK, `["connector.files"]`)

	replay := func(what string) {
		t.Helper()
		before, _ := e.w.Totals("files")
		e.want(t, "PUT", "/connectors/files/resume", nil, http.StatusAccepted, "")
		e.waitState(t, "files", "RUNNING")
		waitFor(t, 30*time.Second, func() bool {
			now, _ := e.w.Totals("files")
			o := e.sinkOffsets(t, "files")
			return now.Written >= before.Written+int64(n) && o[0] == committed[0] && o[1] == committed[1]
		}, func() string {
			now, _ := e.w.Totals("files")
			return fmt.Sprintf("%s: written %d more of %d; offsets %v, want %v", what, now.Written-before.Written, n, e.sinkOffsets(t, "files"), committed)
		})
		checkFilesOnce(t, e, dir, n)
	}

	e.want(t, "PUT", "/connectors/files/stop", nil, http.StatusNoContent, "")
	e.want(t, "PATCH", "/connectors/files/offsets", `{"offsets":[{"partition":{"kafka_topic":"clicks","kafka_partition":"zero"},"offset":{"kafka_offset":0}}]}`, http.StatusBadRequest, anyBody)
	e.want(t, "PATCH", "/connectors/files/offsets", toZero, http.StatusOK, `{"message":"The offsets for this connector have been altered successfully"}`)
	e.want(t, "GET", "/connectors/files/offsets", nil, http.StatusOK, toZero)
	replay("after PATCH to 0")

	if c := e.logs.count(t, "DEBUG", "file sink: wrote file", map[string]any{"connector": "files"}); c == 0 {
		t.Error("no DEBUG line of the file sink with connector.files at DEBUG")
	}
	for _, en := range e.logs.entries(t) {
		if en["level"] == "DEBUG" && en["connector"] != "files" {
			t.Fatalf("a DEBUG line not of connector.files: %v", en)
		}
	}

	e.want(t, "PUT", "/connectors/files/stop", nil, http.StatusNoContent, "")
	e.want(t, "DELETE", "/connectors/files/offsets", nil, http.StatusOK, `{"message":"The offsets for this connector have been reset successfully"}`)
	e.want(t, "GET", "/connectors/files/offsets", nil, http.StatusOK, `{"offsets":[]}`)
	replay("after DELETE")
}

// testLoggers checks /admin/loggers.
func testLoggers(t *testing.T, e *env) {
	t.Helper()
	r := e.want(t, "GET", "/admin/loggers", nil, http.StatusOK, anyBody)
	var all map[string]rest.LoggerLevel
	decode(t, r, &all)
	names := slices.Sorted(maps.Keys(all))
	if want := []string{"connectd.kafka", "connectd.rest", "connectd.worker", "connector.files", "connector.gen", "connector.later", "root"}; !slices.Equal(names, want) {
		t.Errorf("loggers %v, want %v", names, want)
	}
	for name, lv := range all {
		switch {
		case name == "connector.files":
			if lv.Level != "DEBUG" || lv.LastModified == nil || time.Since(time.UnixMilli(*lv.LastModified)) > time.Minute {
				t.Errorf("%s: %+v", name, lv)
			}
		case lv.Level != "INFO" || lv.LastModified != nil:
			t.Errorf("%s: %+v, want INFO never modified", name, lv)
		}
	}
	e.want(t, "GET", "/admin/loggers/connectd.worker", nil, http.StatusOK, `{"level":"INFO","last_modified":null}`)
	e.wantErr(t, "GET", "/admin/loggers/nope", nil, http.StatusNotFound, "Logger nope not found.")
	e.wantErr(t, "PUT", "/admin/loggers/root", `{"level":"LOUD"}`, http.StatusNotFound, "invalid log level 'LOUD'.")
	e.wantErr(t, "PUT", "/admin/loggers/root", `{}`, http.StatusBadRequest, "Desired 'level' parameter was not specified in request.")
	e.wantErr(t, "PUT", "/admin/loggers/root", `{"level": 5}`, http.StatusBadRequest,
		`Malformed JSON in request body: "level" is 5, not a string; expected {"level": "DEBUG"}`)

	// REST requests log at DEBUG on connectd.rest: silent until root says.
	if c := e.logs.count(t, "DEBUG", "request", nil); c != 0 {
		t.Errorf("%d request lines at INFO", c)
	}
	e.want(t, "PUT", "/admin/loggers/root", `{"level":"DEBUG"}`, http.StatusOK,
		`["connectd.kafka","connectd.rest","connectd.worker","connector.files","connector.gen","connector.later","root"]`)
	e.want(t, "GET", "/connectors", nil, http.StatusOK, `["files"]`)
	if c := e.logs.count(t, "DEBUG", "request", map[string]any{"logger": "connectd.rest", "path": "/connectors", "status": float64(200)}); c == 0 {
		t.Error("no DEBUG request line with root at DEBUG")
	}
	e.want(t, "PUT", "/admin/loggers/connectd.rest?scope=cluster", `{"level":"warn"}`, http.StatusNoContent, "")
	e.want(t, "PUT", "/admin/loggers/connector", `{"level":"ERROR"}`, http.StatusOK, `["connector","connector.files","connector.gen","connector.later"]`)
	r = e.want(t, "GET", "/admin/loggers/connectd.rest", nil, http.StatusOK, anyBody)
	var lv rest.LoggerLevel
	decode(t, r, &lv)
	if lv.Level != "WARN" || lv.LastModified == nil {
		t.Errorf("connectd.rest after scope=cluster: %+v", lv)
	}
}

// checkFilesOnce fails unless the files hold exactly the records of the
// topic, each once.
func checkFilesOnce(t *testing.T, e *env, dir string, n int) {
	t.Helper()
	values, positions := fileValues(t, dir)
	for pos, c := range positions {
		if c != 1 {
			t.Errorf("record %s is in the files %d times", pos, c)
		}
	}
	recs, err := e.k.Reader().ReadAll(t.Context(), "clicks")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n || len(values) != n {
		t.Fatalf("topic holds %d records, files %d; want %d", len(recs), len(values), n)
	}
	want := map[string]int{}
	for _, rec := range recs {
		want[string(rec.Value)]++
	}
	for _, v := range values {
		want[string(v)]--
	}
	for v, c := range want {
		if c != 0 {
			t.Fatalf("value %.80q: %d more in the topic than in the files", v, c)
		}
	}
}

// stringsOf renders config values as Kafka Connect keeps them: strings.
func stringsOf(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// withName returns cfg with "name" set (or removed, for "").
func withName(cfg map[string]string, name string) map[string]string {
	out := maps.Clone(cfg)
	if name == "" {
		delete(out, "name")
	} else {
		out["name"] = name
	}
	return out
}

func withKey(cfg map[string]string, k, v string) map[string]string {
	out := maps.Clone(cfg)
	out[k] = v
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
