package rest

import (
	"encoding/json"

	"github.com/connectd/connectd/worker"
)

// The JSON bodies of the API, with Kafka Connect 3.9's field names (its
// org.apache.kafka.connect.runtime.rest.entities classes). Lists are never
// null: an empty list is [].

// ErrorMessage is the body of every error: {"error_code", "message"}.
type ErrorMessage struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// Message is the body of a successful offsets change: {"message"}.
type Message struct {
	Message string `json:"message"`
}

// ServerInfo is GET /'s body.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// WorkerStatus is GET /health's body; Status is healthy, starting or
// unhealthy.
type WorkerStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// ConnectorStateInfo is a connector's status (GET
// /connectors/{name}/status, and the body of a restart with tasks).
type ConnectorStateInfo struct {
	Name      string         `json:"name"`
	Connector ConnectorState `json:"connector"`
	Tasks     []TaskState    `json:"tasks"`
	// Type is "sink" or "source".
	Type string `json:"type"`
}

// ConnectorState is the connector part of a ConnectorStateInfo.
type ConnectorState struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	// Trace is left out unless the connector FAILED.
	Trace string `json:"trace,omitempty"`
}

// TaskState is one task's status.
type TaskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	// Trace is the error that failed the task, or, on a RUNNING task,
	// the retryable error it is waiting out ("retrying flush since …");
	// left out otherwise.
	Trace string `json:"trace,omitempty"`
}

// TaskInfo is one entry of GET /connectors/{name}/tasks.
type TaskInfo struct {
	ID     worker.TaskID     `json:"id"`
	Config map[string]string `json:"config"`
}

// ActiveTopicsInfo is the value of GET /connectors/{name}/topics's one key
// (the connector's name).
type ActiveTopicsInfo struct {
	Topics []string `json:"topics"`
}

// PluginInfo is one entry of GET /connector-plugins. Version is left out
// when the plugin has none (converters), as Kafka Connect does.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// ConfigKeyInfo describes one config key (GET
// /connector-plugins/{plugin}/config, and each "definition" of a
// validation). DefaultValue is null for a required key. Order is the key's
// place in its group, from 1; Kafka Connect 3.9 writes it as "order".
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         string   `json:"group"`
	Order         int      `json:"order"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`

	enum []string // the allowed values, for a validation's recommended_values
}

// ConfigValueInfo is the validated value of one key. Value is the value
// given, else the default, else null.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// ConfigInfo pairs a key's definition with its validated value. A key the
// plugin does not define (an unknown key) has a null definition.
type ConfigInfo struct {
	Definition *ConfigKeyInfo   `json:"definition"`
	Value      *ConfigValueInfo `json:"value"`
}

// ConfigInfos is the body of PUT /connector-plugins/{plugin}/config/validate.
// Name is the connector.class validated; ErrorCount counts every error
// message of every key.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// CreateConnectorRequest is the body of POST /connectors. Config values
// may be JSON strings, numbers or booleans; InitialState is RUNNING
// (default), PAUSED or STOPPED.
type CreateConnectorRequest struct {
	Name         *string                    `json:"name"`
	Config       map[string]json.RawMessage `json:"config"`
	InitialState *string                    `json:"initial_state"`
}

// ConnectorOffsets is the body of GET and PATCH /connectors/{name}/offsets
// (KIP-875).
type ConnectorOffsets struct {
	Offsets []worker.ConnectorOffset `json:"offsets"`
}

// LoggerLevel is one logger's level (GET /admin/loggers/{name}, and the
// values of GET /admin/loggers). LastModified is when its level was last
// set over the API, in milliseconds since the epoch, or null.
type LoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

// ResetPlan is the body of POST /connectors/{name}/offsets/plan, connectd's
// extension for backfills.
type ResetPlan struct {
	Plan []worker.PlanRow `json:"plan"`
}
