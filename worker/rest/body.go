package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/worker"
)

// writeJSON writes v as the body with status code. Like Kafka Connect's
// Jackson, it does not escape <, > and &.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(ErrorMessage{ErrorCode: code, Message: "encode answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes Kafka Connect's error body.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorMessage{ErrorCode: code, Message: msg})
}

func errorf(code int, format string, args ...any) error {
	return &worker.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// decodeBody reads the request body as JSON into dst (objects refuse
// unknown fields), with a 400 naming the problem for a body that is
// missing, too large or malformed. what says what the body should be, for
// the messages.
func decodeBody(r *http.Request, dst any, what string) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errorf(http.StatusBadRequest, "Request body is larger than the limit of %d bytes", tooBig.Limit)
		}
		return errorf(http.StatusBadRequest, "Could not read the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errorf(http.StatusBadRequest, "Request body is empty; expected %s", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errorf(http.StatusBadRequest, "Malformed JSON in request body: %s; expected %s", jsonProblem(err, data), what)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "Malformed JSON in request body: data after the JSON value at byte %d; expected %s", dec.InputOffset(), what)
	}
	return nil
}

// jsonProblem describes a decoding error in a person's terms.
func jsonProblem(err error, data []byte) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Sprintf("the body is a JSON %s, not %s", typ.Value, jsonTypeName(typ.Type.String()))
		}
		return fmt.Sprintf("%q is a JSON %s, not %s", field, typ.Value, jsonTypeName(typ.Type.String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("it ends early (after %d bytes)", len(data))
	}
	return err.Error()
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "rest."), strings.HasPrefix(goType, "worker."), strings.HasPrefix(goType, "struct"):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string", goType == "*string":
		return "a string"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case goType == "bool":
		return "a boolean"
	}
	return goType
}

// configValues turns a JSON config object into Kafka Connect's string
// form: strings as they are, numbers and booleans as their literal text.
// A null value, an object or an array is an error naming its key.
func configValues(in map[string]json.RawMessage) (map[string]string, []error) {
	var errs []error
	raw := make(map[string]string, len(in))
	for k, v := range in {
		if t := bytes.TrimSpace(v); len(t) == 0 || string(t) == "null" {
			errs = append(errs, &connector.ConfigError{Key: k, Message: "is null: a value can not be null; remove the key instead"})
			continue
		}
		one, err := connector.StringValues(map[string]json.RawMessage{k: v})
		if err != nil {
			errs = append(errs, flatten(err)...)
			continue
		}
		raw[k] = one[k]
	}
	sortConfigErrors(errs)
	return raw, errs
}

// invalidConfig is the 400 for a config whose values are not strings,
// numbers or booleans, in the worker's words for an invalid config.
func invalidConfig(class string, errs []error) error {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return errorf(http.StatusBadRequest, "Connector configuration is invalid and contains the following %d error(s):\n%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/%s/config/validate`",
		len(lines), strings.Join(lines, "\n"), class)
}

// flatten unpacks errors.Join trees into their leaves.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func sortConfigErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

// boolParam reads a query flag the way JAX-RS reads a Boolean: "true" in
// any case is true, anything else false; absent gives def.
func boolParam(r *http.Request, name string, def bool) bool {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def
	}
	return strings.EqualFold(v[0], "true")
}
