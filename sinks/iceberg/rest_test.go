package iceberg_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sinks/iceberg"
)

// restCfg decodes a config writing events to one auto-created table
// through rc, committing at every Flush, plus keys ("" deletes a key).
func restCfg(t *testing.T, rc *restCatalog, keys map[string]string) *iceberg.Config {
	return eventsCfg(t, rc.keys(), keys)
}

// TestRebalanceMidCommitREST is TestRebalanceMidCommit through the REST
// catalog: the commit beaten by another task's commit gets the server's
// 409 CommitFailedException and is retried on the new head; the one whose
// partition the new owner committed is fenced.
func TestRebalanceMidCommitREST(t *testing.T) {
	rc := startRESTCatalog(t, restOptions{Token: "static-token"})
	rebalanceMidCommit(t, restCfg(t, rc, nil), rc.Warehouse)
	// One 409 for the retried commit, one for the fenced one.
	if n := rc.conflicts.Load(); n < 2 {
		t.Errorf("the REST server answered %d commits with 409, want at least 2 (the retry and the fence)", n)
	}
}

// TestMaintenanceREST is TestMaintenance (what `connectd iceberg compact`,
// `expire-snapshots` and `remove-orphans` run) through the REST catalog.
func TestMaintenanceREST(t *testing.T) {
	rc := startRESTCatalog(t, restOptions{})
	maintenance(t, restCfg(t, rc, nil), rc.Warehouse)
}

// TestRESTSchemaEvolutionAndReset: a schema change and an offset reset are
// commits too; through the REST catalog a new field becomes a column and
// a reset's replay is stored once.
func TestRESTSchemaEvolutionAndReset(t *testing.T) {
	rc := startRESTCatalog(t, restOptions{})
	cfg := restCfg(t, rc, map[string]string{"iceberg.tables.evolve-schema-enabled": "true"})
	p0 := tp(0)
	s := newSink(t, cfg, connector.TaskInfo{})
	open(t, s, map[connector.TopicPartition]int64{p0: 0})
	write(t, s, recs(p0, 0, 10))
	write(t, s, []connector.Record{rec(p0, 10, `{"event_id":"e10","timestamp":"2026-01-02T03:04:05Z","plan":"pro"}`)})
	flush(t, s)
	rows := readTable(t, cfg, events)
	wantOnce(t, rows, p0, 11)
	found := false
	for _, r := range rows {
		if r["plan"] == "pro" {
			found = true
		}
	}
	if !found {
		t.Errorf("the new field plan did not become a column through the REST catalog")
	}
	if _, err := s.ResetOffsets(context.Background(), map[connector.TopicPartition]int64{p0: 4}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := newSink(t, cfg, connector.TaskInfo{})
	if r := open(t, s2, map[connector.TopicPartition]int64{p0: 4}); r[p0] != 4 {
		t.Fatalf("Open at the reset target resumed at %d, want 4", r[p0])
	}
	write(t, s2, recs(p0, 4, 11))
	flush(t, s2)
	wantOnce(t, readTable(t, cfg, events), p0, 11)
}

// TestRESTConfigErrors: REST catalog keys are checked before anything
// starts, naming the key and the fix.
func TestRESTConfigErrors(t *testing.T) {
	base := func(kv ...string) map[string]string {
		return withKeys(map[string]string{"iceberg.tables": events, "iceberg.catalog.type": "rest", "iceberg.catalog.uri": "https://catalog.example.com/api/catalog"}, kv...)
	}
	for _, tc := range []struct {
		raw  map[string]string
		want string
	}{
		{base("iceberg.catalog.uri", "/var/lib/connectd/catalog.db"), `"iceberg.catalog.uri": "/var/lib/connectd/catalog.db" is not an http:// or https:// URL with a host: with iceberg.catalog.type=rest give the REST catalog's base URL`},
		{base("iceberg.catalog.uri", "ftp://catalog.example.com"), `"iceberg.catalog.uri": "ftp://catalog.example.com" is not an http:// or https:// URL`},
		{base("iceberg.catalog.uri", "http://"), `"iceberg.catalog.uri": "http://" is not an http:// or https:// URL with a host`},
		{base("iceberg.catalog.uri", ""), `"iceberg.catalog.uri"`},
		{base("iceberg.catalog.credential", "id:secret", "iceberg.catalog.oauth2-server-uri", "idp.example.com/token"), `"iceberg.catalog.oauth2-server-uri": "idp.example.com/token" is not an http:// or https:// URL with a host: give the OAuth2 token endpoint`},
		{base("iceberg.catalog.credential", "id:secret", "iceberg.catalog.token", "t"), `"iceberg.catalog.token": is set together with iceberg.catalog.credential`},
		{base("iceberg.catalog.scope", "catalog"), `"iceberg.catalog.scope": is set but iceberg.catalog.credential is not`},
		{base("iceberg.catalog.prefix", "/lake/"), `"iceberg.catalog.prefix": "/lake/": give the path segment(s)`},
		{base("iceberg.catalog.rest.tls.skip-verify", "yes"), `"iceberg.catalog.rest.tls.skip-verify": "yes" is not true or false`},
		{base("iceberg.catalog.rest.signing-region", "eu-west-1"), `"iceberg.catalog.rest.signing-region": is set but iceberg.catalog.rest.sigv4-enabled is not true`},
		{base("iceberg.catalog.type", "", "iceberg.catalog.warehouse", "file:///tmp/w"), `"iceberg.catalog.uri": "https://catalog.example.com/api/catalog" is a URL, but iceberg.catalog.type is sql (a SQLite file): set iceberg.catalog.type=rest`},
		{base("iceberg.catalog.type", "sql", "iceberg.catalog.uri", "/tmp/c.db", "iceberg.catalog.warehouse", "file:///tmp/w", "iceberg.catalog.credential", "id:secret"),
			`"iceberg.catalog.credential": is a REST catalog key, but iceberg.catalog.type is sql: set iceberg.catalog.type=rest or remove it`},
	} {
		_, err := tryDecode(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %v:\n got %v\nwant an error containing %s", tc.raw, err, tc.want)
		}
	}
	// A good REST config needs no warehouse, keeps a warehouse name as it
	// is and passes the REST and io keys to the catalog.
	cfg := decode(t, base("iceberg.catalog.warehouse", "lake", "iceberg.catalog.credential", "id:secret",
		"iceberg.catalog.scope", "PRINCIPAL_ROLE:ALL", "iceberg.catalog.oauth2-server-uri", "https://idp.example.com/oauth2/token",
		"iceberg.catalog.prefix", "lake", "iceberg.catalog.s3.endpoint", "http://127.0.0.1:9000", "iceberg.catalog.header.X-Tenant", "a"))
	o := cfg.CatalogOptions()
	want := map[string]string{"credential": "id:secret", "scope": "PRINCIPAL_ROLE:ALL", "oauth2-server-uri": "https://idp.example.com/oauth2/token",
		"prefix": "lake", "s3.endpoint": "http://127.0.0.1:9000", "header.X-Tenant": "a"}
	if o.Type != "rest" || o.Warehouse != "lake" || !maps.Equal(o.Props, want) {
		t.Errorf("catalog options %+v, want type rest, warehouse lake, props %v", o, want)
	}
	decode(t, base())
}

// TestRESTAuth: the OAuth2 client-credentials exchange (at the catalog's
// /v1/oauth/tokens or at oauth2-server-uri, with the scope) and a static
// token authenticate the sink; refused credentials stop it with an error
// that is not retried and names the keys to fix.
func TestRESTAuth(t *testing.T) {
	ctx := context.Background()
	p0 := tp(0)
	t.Run("credential-and-oauth2-server-uri", func(t *testing.T) {
		rc := startRESTCatalog(t, restOptions{ClientID: "connectd", Secret: "s3cret", TokenPath: "/idp/token"})
		cfg := restCfg(t, rc, map[string]string{"iceberg.catalog.scope": "catalog:write"})
		s := newSink(t, cfg, connector.TaskInfo{})
		open(t, s, map[connector.TopicPartition]int64{p0: 0})
		write(t, s, recs(p0, 0, 5))
		flush(t, s)
		wantOnce(t, readTable(t, cfg, events), p0, 5)
		rc.mu.Lock()
		scopes := rc.scopes
		rc.mu.Unlock()
		if len(scopes) == 0 || scopes[0] != "catalog:write" {
			t.Errorf("token requests asked for scopes %q, want catalog:write", scopes)
		}
	})
	for _, tc := range []struct {
		name string
		o    restOptions
		keys map[string]string
	}{
		{"wrong-secret", restOptions{ClientID: "connectd", Secret: "s3cret"}, map[string]string{"iceberg.catalog.credential": "connectd:wrong"}},
		{"wrong-token", restOptions{Token: "right"}, map[string]string{"iceberg.catalog.token": "wrong"}},
		{"no-token", restOptions{Token: "right"}, map[string]string{"iceberg.catalog.token": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := startRESTCatalog(t, tc.o)
			s := newSink(t, restCfg(t, rc, tc.keys), connector.TaskInfo{})
			_, err := s.Open(ctx, map[connector.TopicPartition]int64{p0: 0})
			if err == nil {
				t.Fatal("Open with refused credentials succeeded")
			}
			if _, retry := connector.IsRetryable(err); retry || !iceberg.IsAuthError(err) || !strings.Contains(err.Error(), "check iceberg.catalog.credential") {
				t.Errorf("Open with refused credentials: %v (retryable %v); want a fatal auth error naming the keys", err, retry)
			}
		})
	}
	// A server that is down is retried, not fatal.
	rc := startRESTCatalog(t, restOptions{})
	cfg := restCfg(t, rc, map[string]string{"iceberg.catalog.uri": "http://127.0.0.1:1"})
	_, err := newSink(t, cfg, connector.TaskInfo{}).Open(ctx, map[connector.TopicPartition]int64{p0: 0})
	if _, retry := connector.IsRetryable(err); !retry {
		t.Errorf("Open with the REST server down: %v, want a retryable error", err)
	}
}
