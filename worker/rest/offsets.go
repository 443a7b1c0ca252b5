package rest

import (
	"net/http"

	"github.com/connectd/connectd/worker"
)

// The offsets endpoints (Kafka Connect's KIP-875), and connectd's backfill
// plan.

const offsetsBody = `{"offsets": [{"partition": {...}, "offset": {...}}, ...]}`

// GET /connectors/{name}/offsets
func (s *Server) getOffsets(w http.ResponseWriter, r *http.Request) error {
	offs, err := s.w.Offsets(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if offs == nil {
		offs = []worker.ConnectorOffset{}
	}
	writeJSON(w, http.StatusOK, ConnectorOffsets{Offsets: offs})
	return nil
}

// PATCH /connectors/{name}/offsets: only while the connector is STOPPED
// (the worker answers 400 otherwise). An entry with a null offset resets
// its partition.
func (s *Server) alterOffsets(w http.ResponseWriter, r *http.Request) error {
	var body ConnectorOffsets
	if err := decodeBody(r, &body, offsetsBody); err != nil {
		return err
	}
	if len(body.Offsets) == 0 {
		return errorf(http.StatusBadRequest, "Partitions / offsets need to be provided for an alter offsets request")
	}
	if err := s.w.AlterOffsets(r.Context(), r.PathValue("name"), body.Offsets); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Message{Message: "The offsets for this connector have been altered successfully"})
	return nil
}

// DELETE /connectors/{name}/offsets: only while STOPPED.
func (s *Server) resetOffsets(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.ResetOffsets(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Message{Message: "The offsets for this connector have been reset successfully"})
	return nil
}

// POST /connectors/{name}/offsets/plan (connectd's extension): the body
// is a worker.ResetSpec; the answer {"plan": [worker.PlanRow...]} says
// where a backfill would move each partition. It changes nothing.
func (s *Server) planReset(w http.ResponseWriter, r *http.Request) error {
	var spec worker.ResetSpec
	if err := decodeBody(r, &spec, `{"to": "earliest" | "latest" | "datetime" | "offsets" | "shift", "datetime": "RFC3339", "offsets": [{"topic", "partition", "offset"}], "shift": N}`); err != nil {
		return err
	}
	rows, err := s.w.PlanReset(r.Context(), r.PathValue("name"), spec)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []worker.PlanRow{}
	}
	writeJSON(w, http.StatusOK, ResetPlan{Plan: rows})
	return nil
}
