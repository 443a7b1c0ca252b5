package iceberg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/connectd/connectd/sinks/iceberg"
)

// restCatalog is a stand-in Iceberg REST catalog server for the tests. No
// REST catalog server (the Java reference server, Polaris, Lakekeeper,
// Gravitino, Nessie) can run on the machines these tests run on: there is
// no Docker and no JVM, only the Go module proxy. So this server speaks
// the part of the REST catalog spec that iceberg-go v0.7.0's client uses,
// over net/http/httptest, and hands every operation to iceberg-go's real
// SQL catalog on SQLite (driver "sqlite", modernc.org/sqlite) with a
// file:// warehouse:
//
//   - GET /v1/config (defaults, overrides and the advertised endpoints;
//     the warehouse query parameter must name the server's warehouse);
//   - namespaces: list, create, load, exists (HEAD), drop;
//   - tables: list, create, load, exists (HEAD), drop, rename;
//   - POST /v1/{prefix}/namespaces/{ns}/tables/{table}, the commit: its
//     requirements and updates are decoded by table.Requirements and
//     table.Updates and applied by the SQL catalog's CommitTable, so the
//     requirement checks (AssertRefSnapshotID...) are the real catalog's;
//   - POST /v1/oauth/tokens (or another path, for oauth2-server-uri): the
//     OAuth2 client-credentials exchange, and bearer tokens checked on
//     every other request, when the test sets them.
//
// Errors have the spec's body {"error":{"message","type","code"}}: 404
// NoSuchNamespaceException / NoSuchTableException, 409
// AlreadyExistsException, NamespaceNotEmptyException and, for a commit
// whose requirements failed or that lost the race, CommitFailedException;
// any other commit failure is a 500 (the client's "commit state unknown").
// Not covered: views, multi-table transactions, staged creates, scan
// planning, credential vending, metrics, pagination, SigV4.
type restCatalog struct {
	// URL is the server's base URL, the sink's iceberg.catalog.uri.
	URL string
	// Warehouse is the file:// location the tables are stored under.
	Warehouse string

	o   restOptions
	cat catalog.Catalog

	conflicts atomic.Int64 // commits answered 409
	commits   atomic.Int64 // commits answered 200
	tokens    atomic.Int64 // tokens issued

	mu     sync.Mutex
	scopes []string // scopes asked for in token requests
}

// restOptions configure a restCatalog.
type restOptions struct {
	// WarehouseName is the warehouse GET /v1/config must be asked for
	// (the sink's iceberg.catalog.warehouse); empty accepts any.
	WarehouseName string
	// Prefix, when set, is the path segment after /v1/ of every route but
	// /v1/config; the client must be configured with it.
	Prefix string
	// ClientID and Secret, when set, are the only client credentials the
	// token endpoint accepts, and every request needs the token it issues.
	ClientID, Secret string
	// TokenPath is the token endpoint's path; default /v1/oauth/tokens.
	TokenPath string
	// Token, when set (and ClientID is not), is the static bearer token
	// every request needs.
	Token string
}

// startRESTCatalog starts a restCatalog on a new SQLite file and warehouse
// directory; it is closed when the test ends.
func startRESTCatalog(t testing.TB, o restOptions) *restCatalog {
	t.Helper()
	dir := t.TempDir()
	wh := "file://" + filepath.Join(dir, "warehouse")
	cat, err := iceberg.OpenCatalog(context.Background(), iceberg.CatalogOptions{Type: "sql", URI: filepath.Join(dir, "rest-backend.db"), Warehouse: wh, Name: "rest"})
	if err != nil {
		t.Fatal(err)
	}
	if o.TokenPath == "" {
		o.TokenPath = "/v1/oauth/tokens"
	}
	if o.ClientID != "" {
		o.Token = "token-for-" + o.ClientID
	}
	rc := &restCatalog{Warehouse: wh, o: o, cat: cat}
	srv := httptest.NewServer(rc.handler())
	rc.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		_ = iceberg.CloseCatalog(cat)
	})
	return rc
}

// keys returns the sink's config keys for this catalog.
func (rc *restCatalog) keys() map[string]string {
	k := map[string]string{
		"iceberg.catalog.type": "rest",
		"iceberg.catalog.uri":  rc.URL,
	}
	if rc.o.WarehouseName != "" {
		k["iceberg.catalog.warehouse"] = rc.o.WarehouseName
	}
	if rc.o.Prefix != "" {
		k["iceberg.catalog.prefix"] = rc.o.Prefix
	}
	switch {
	case rc.o.ClientID != "":
		k["iceberg.catalog.credential"] = rc.o.ClientID + ":" + rc.o.Secret
		if rc.o.TokenPath != "/v1/oauth/tokens" {
			k["iceberg.catalog.oauth2-server-uri"] = rc.URL + rc.o.TokenPath
		}
	case rc.o.Token != "":
		k["iceberg.catalog.token"] = rc.o.Token
	}
	return k
}

// restEndpoints are the endpoints GET /v1/config advertises.
var restEndpoints = []string{
	"GET /v1/{prefix}/namespaces",
	"POST /v1/{prefix}/namespaces",
	"GET /v1/{prefix}/namespaces/{namespace}",
	"HEAD /v1/{prefix}/namespaces/{namespace}",
	"DELETE /v1/{prefix}/namespaces/{namespace}",
	"GET /v1/{prefix}/namespaces/{namespace}/tables",
	"POST /v1/{prefix}/namespaces/{namespace}/tables",
	"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"POST /v1/{prefix}/tables/rename",
}

func (rc *restCatalog) handler() http.Handler {
	mux := http.NewServeMux()
	base := "/v1"
	if rc.o.Prefix != "" {
		base += "/" + rc.o.Prefix
	}
	mux.HandleFunc("GET /v1/config", rc.config)
	mux.HandleFunc("POST "+rc.o.TokenPath, rc.issueToken)
	mux.HandleFunc("GET "+base+"/namespaces", rc.listNamespaces)
	mux.HandleFunc("POST "+base+"/namespaces", rc.createNamespace)
	mux.HandleFunc("GET "+base+"/namespaces/{ns}", rc.loadNamespace)
	mux.HandleFunc("HEAD "+base+"/namespaces/{ns}", rc.namespaceExists)
	mux.HandleFunc("DELETE "+base+"/namespaces/{ns}", rc.dropNamespace)
	mux.HandleFunc("GET "+base+"/namespaces/{ns}/tables", rc.listTables)
	mux.HandleFunc("POST "+base+"/namespaces/{ns}/tables", rc.createTable)
	mux.HandleFunc("GET "+base+"/namespaces/{ns}/tables/{table}", rc.loadTable)
	mux.HandleFunc("HEAD "+base+"/namespaces/{ns}/tables/{table}", rc.tableExists)
	mux.HandleFunc("POST "+base+"/namespaces/{ns}/tables/{table}", rc.commitTable)
	mux.HandleFunc("DELETE "+base+"/namespaces/{ns}/tables/{table}", rc.dropTable)
	mux.HandleFunc("POST "+base+"/tables/rename", rc.renameTable)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc.o.Token != "" && r.URL.Path != rc.o.TokenPath && r.Header.Get("Authorization") != "Bearer "+rc.o.Token {
			restError(w, http.StatusUnauthorized, "NotAuthorizedException", "missing or wrong bearer token")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// restError writes the spec's error body.
func restError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code}})
}

// catalogError maps a SQL catalog error to the spec's status and type.
func catalogError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, catalog.ErrNoSuchTable):
		restError(w, http.StatusNotFound, "NoSuchTableException", err.Error())
	case errors.Is(err, catalog.ErrNoSuchNamespace):
		restError(w, http.StatusNotFound, "NoSuchNamespaceException", err.Error())
	case errors.Is(err, catalog.ErrTableAlreadyExists), errors.Is(err, catalog.ErrNamespaceAlreadyExists):
		restError(w, http.StatusConflict, "AlreadyExistsException", err.Error())
	case errors.Is(err, catalog.ErrNamespaceNotEmpty):
		restError(w, http.StatusConflict, "NamespaceNotEmptyException", err.Error())
	default:
		restError(w, http.StatusInternalServerError, "ServiceFailureException", err.Error())
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		restError(w, http.StatusBadRequest, "BadRequestException", "malformed request body: "+err.Error())
		return false
	}
	return true
}

// namespace decodes the {ns} path segment: levels joined by the unit
// separator (the client's default namespace-separator, %1F).
func namespace(r *http.Request) table.Identifier {
	return strings.Split(r.PathValue("ns"), "\x1f")
}

func tableIdent(r *http.Request) table.Identifier {
	return append(namespace(r), r.PathValue("table"))
}

type restIdent struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

func (rc *restCatalog) config(w http.ResponseWriter, r *http.Request) {
	if wh := r.URL.Query().Get("warehouse"); rc.o.WarehouseName != "" && wh != rc.o.WarehouseName {
		restError(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("unknown warehouse %q", wh))
		return
	}
	writeJSON(w, map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}, "endpoints": restEndpoints})
}

func (rc *restCatalog) issueToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		restError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != rc.o.ClientID || r.Form.Get("client_secret") != rc.o.Secret || rc.o.ClientID == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "unknown client or wrong secret"})
		return
	}
	rc.tokens.Add(1)
	rc.mu.Lock()
	rc.scopes = append(rc.scopes, r.Form.Get("scope"))
	rc.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": rc.o.Token, "token_type": "bearer", "expires_in": 3600,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
}

func (rc *restCatalog) listNamespaces(w http.ResponseWriter, r *http.Request) {
	var parent table.Identifier
	if p := r.URL.Query().Get("parent"); p != "" {
		parent = strings.Split(p, "\x1f")
	}
	nss, err := rc.cat.ListNamespaces(r.Context(), parent)
	if err != nil {
		catalogError(w, err)
		return
	}
	if nss == nil {
		nss = []table.Identifier{}
	}
	writeJSON(w, map[string]any{"namespaces": nss})
}

func (rc *restCatalog) createNamespace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Namespace  table.Identifier `json:"namespace"`
		Properties ice.Properties   `json:"properties"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if err := rc.cat.CreateNamespace(r.Context(), req.Namespace, req.Properties); err != nil {
		catalogError(w, err)
		return
	}
	writeJSON(w, map[string]any{"namespace": req.Namespace, "properties": req.Properties})
}

func (rc *restCatalog) loadNamespace(w http.ResponseWriter, r *http.Request) {
	props, err := rc.cat.LoadNamespaceProperties(r.Context(), namespace(r))
	if err != nil {
		catalogError(w, err)
		return
	}
	writeJSON(w, map[string]any{"namespace": namespace(r), "properties": props})
}

func (rc *restCatalog) namespaceExists(w http.ResponseWriter, r *http.Request) {
	ok, err := rc.cat.CheckNamespaceExists(r.Context(), namespace(r))
	writeExists(w, ok, err)
}

func (rc *restCatalog) dropNamespace(w http.ResponseWriter, r *http.Request) {
	if err := rc.cat.DropNamespace(r.Context(), namespace(r)); err != nil {
		catalogError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *restCatalog) listTables(w http.ResponseWriter, r *http.Request) {
	out := []restIdent{}
	for id, err := range rc.cat.ListTables(r.Context(), namespace(r)) {
		if err != nil {
			catalogError(w, err)
			return
		}
		out = append(out, restIdent{Namespace: catalog.NamespaceFromIdent(id), Name: catalog.TableNameFromIdent(id)})
	}
	writeJSON(w, map[string]any{"identifiers": out})
}

// writeTable answers with the spec's LoadTableResult.
func writeTable(w http.ResponseWriter, tbl *table.Table) {
	meta, err := json.Marshal(tbl.Metadata())
	if err != nil {
		restError(w, http.StatusInternalServerError, "ServiceFailureException", err.Error())
		return
	}
	writeJSON(w, map[string]any{"metadata-location": tbl.MetadataLocation(), "metadata": json.RawMessage(meta), "config": map[string]string{}})
}

func (rc *restCatalog) createTable(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string                    `json:"name"`
		Schema      *ice.Schema               `json:"schema"`
		Location    string                    `json:"location"`
		Spec        *ice.UnboundPartitionSpec `json:"partition-spec"`
		WriteOrder  *table.UnboundSortOrder   `json:"write-order"`
		StageCreate bool                      `json:"stage-create"`
		Properties  ice.Properties            `json:"properties"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.StageCreate || req.Schema == nil || req.Name == "" {
		restError(w, http.StatusBadRequest, "BadRequestException", "this test server needs a name and a schema, and does not stage creates")
		return
	}
	var opts []catalog.CreateTableOpt
	if req.Spec != nil {
		opts = append(opts, catalog.WithPartitionSpec(&req.Spec.PartitionSpec))
	}
	if req.WriteOrder != nil {
		opts = append(opts, catalog.WithSortOrder(req.WriteOrder.SortOrder))
	}
	if req.Location != "" {
		opts = append(opts, catalog.WithLocation(req.Location))
	}
	if len(req.Properties) > 0 {
		opts = append(opts, catalog.WithProperties(req.Properties))
	}
	tbl, err := rc.cat.CreateTable(r.Context(), append(namespace(r), req.Name), req.Schema, opts...)
	if err != nil {
		catalogError(w, err)
		return
	}
	writeTable(w, tbl)
}

func (rc *restCatalog) loadTable(w http.ResponseWriter, r *http.Request) {
	tbl, err := rc.cat.LoadTable(r.Context(), tableIdent(r))
	if err != nil {
		catalogError(w, err)
		return
	}
	writeTable(w, tbl)
}

func (rc *restCatalog) tableExists(w http.ResponseWriter, r *http.Request) {
	ok, err := rc.cat.CheckTableExists(r.Context(), tableIdent(r))
	writeExists(w, ok, err)
}

// writeExists answers a HEAD existence check: 204 when it exists, 404
// when not, the catalog's error otherwise.
func writeExists(w http.ResponseWriter, ok bool, err error) {
	switch {
	case err != nil:
		catalogError(w, err)
	case !ok:
		w.WriteHeader(http.StatusNotFound)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// commitTable applies a commit with the SQL catalog's CommitTable: a
// requirement it finds broken, or a lost race on the metadata location,
// is a 409 CommitFailedException.
func (rc *restCatalog) commitTable(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Identifier   *restIdent         `json:"identifier"`
		Requirements table.Requirements `json:"requirements"`
		Updates      table.Updates      `json:"updates"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	id := tableIdent(r)
	if req.Identifier != nil && (strings.Join(req.Identifier.Namespace, ".") != strings.Join(namespace(r), ".") || req.Identifier.Name != r.PathValue("table")) {
		restError(w, http.StatusBadRequest, "BadRequestException", "the body's identifier is not the path's table")
		return
	}
	meta, loc, err := rc.cat.CommitTable(r.Context(), id, req.Requirements, req.Updates)
	if err != nil {
		if errors.Is(err, table.ErrCommitFailed) || strings.Contains(err.Error(), "requirement failed") {
			rc.conflicts.Add(1)
			restError(w, http.StatusConflict, "CommitFailedException", err.Error())
			return
		}
		catalogError(w, err)
		return
	}
	rc.commits.Add(1)
	raw, err := json.Marshal(meta)
	if err != nil {
		restError(w, http.StatusInternalServerError, "ServiceFailureException", err.Error())
		return
	}
	writeJSON(w, map[string]any{"metadata-location": loc, "metadata": json.RawMessage(raw)})
}

func (rc *restCatalog) dropTable(w http.ResponseWriter, r *http.Request) {
	if err := rc.cat.DropTable(r.Context(), tableIdent(r)); err != nil {
		catalogError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *restCatalog) renameTable(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Source      restIdent `json:"source"`
		Destination restIdent `json:"destination"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	from := append(table.Identifier{}, append(req.Source.Namespace, req.Source.Name)...)
	to := append(table.Identifier{}, append(req.Destination.Namespace, req.Destination.Name)...)
	if _, err := rc.cat.RenameTable(r.Context(), from, to); err != nil {
		catalogError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
