package iceberg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	iceberg "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest" // registers the "rest" catalog type
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	"github.com/apache/iceberg-go/table"
	_ "modernc.org/sqlite" // the "sqlite" driver of the SQL catalog
)

// CatalogOptions locate a catalog and its warehouse; the maintenance
// commands build them from flags, the sink from its config.
type CatalogOptions struct {
	// Type is "sql" (a SQL catalog on SQLite; the default when empty) or
	// "rest" (an Iceberg REST catalog).
	Type string
	// URI is the SQLite file (or a file: DSN) for sql, the REST
	// catalog's base URL (http:// or https://) for rest.
	URI string
	// Warehouse is file:///dir or s3://bucket/prefix for sql; for rest it
	// is passed to the server as is (a warehouse name or location, as
	// the server expects) and may be empty.
	Warehouse string
	// Name is the catalog's name.
	Name string
	// Props are more catalog and io properties: s3.endpoint, ... and,
	// for rest, credential, token, oauth2-server-uri, scope, prefix,
	// rest.sigv4-enabled, rest.tls.skip-verify, header.<name>, ...
	Props map[string]string
}

// options returns the catalog options of c; a SQL catalog's warehouse
// given as a local directory becomes a file:// URL of its absolute path.
func (c *Config) options() CatalogOptions {
	wh := c.Warehouse
	if u, err := url.Parse(wh); err == nil && u.Scheme == "" && wh != "" && c.CatalogType != "rest" {
		if abs, err := filepath.Abs(wh); err == nil {
			wh = "file://" + abs
		}
	}
	return CatalogOptions{Type: c.CatalogType, URI: c.CatalogURI, Warehouse: wh, Name: c.CatalogName, Props: c.catalogProps}
}

// sqliteDSN turns a file path into a modernc SQLite DSN with a busy
// timeout and WAL, so several tasks and processes can share the catalog.
func sqliteDSN(uri string) string {
	if strings.HasPrefix(uri, "file:") {
		return uri
	}
	return "file:" + uri + "?_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// OpenCatalog opens the catalog o describes. The SQL catalog creates its
// tables in the SQLite file when missing. The REST catalog fetches the
// server's configuration (GET /v1/config, after the OAuth2 token exchange
// when a credential is given), so a server that is down or refuses the
// credentials fails here; IsAuthError tells the second case.
func OpenCatalog(ctx context.Context, o CatalogOptions) (catalog.Catalog, error) {
	props := iceberg.Properties{}
	for k, v := range o.Props {
		props[k] = v
	}
	if o.Warehouse != "" {
		props["warehouse"] = o.Warehouse
	}
	if _, ok := props["s3.force-virtual-addressing"]; !ok && props["s3.endpoint"] != "" {
		props["s3.force-virtual-addressing"] = "false"
	}
	name := o.Name
	if name == "" {
		name = "connectd"
	}
	switch o.Type {
	case "", "sql":
		if isHTTP(o.URI) {
			return nil, fmt.Errorf("open SQL catalog: %q is a URL, not a SQLite file: a REST catalog needs type rest", o.URI)
		}
		if !strings.HasPrefix(o.URI, "file:") {
			if err := os.MkdirAll(filepath.Dir(o.URI), 0o755); err != nil {
				return nil, fmt.Errorf("open SQL catalog %s: %w", o.URI, err)
			}
		}
		props["uri"] = sqliteDSN(o.URI)
		props[sqlcat.DriverKey] = "sqlite"
		props[sqlcat.DialectKey] = string(sqlcat.SQLite)
		cat, err := catalog.Load(ctx, name, withType(props, "sql"))
		if err != nil {
			return nil, fmt.Errorf("open SQL catalog %s: %w", o.URI, err)
		}
		return cat, nil
	case "rest":
		u, err := restURL(o.URI)
		if err != nil {
			return nil, fmt.Errorf("open REST catalog: %w", err)
		}
		props["uri"] = o.URI
		cat, err := catalog.Load(ctx, name, withType(props, "rest"))
		if err != nil {
			return nil, fmt.Errorf("open REST catalog %s: %w", u.Redacted(), err)
		}
		return cat, nil
	}
	return nil, fmt.Errorf("unknown catalog type %q: use sql or rest", o.Type)
}

// isHTTP reports whether uri is an http(s) URL (a REST catalog's).
func isHTTP(uri string) bool {
	return strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://")
}

// restURL parses a REST catalog's base URL: http or https, with a host.
func restURL(uri string) (*url.URL, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %v", uri, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := uri
		if u.User != nil {
			shown = u.Redacted() // keep a password out of the message
		}
		return nil, fmt.Errorf("%q is not an http:// or https:// URL with a host", shown)
	}
	return u, nil
}

// IsAuthError reports whether err is a REST catalog's refusal of the
// credentials: the OAuth2 token exchange failed, or the server answered
// 401 or 403. Retrying does not help; the configuration must change.
func IsAuthError(err error) bool {
	return errors.Is(err, rest.ErrOAuthError) || errors.Is(err, rest.ErrUnauthorized) || errors.Is(err, rest.ErrForbidden)
}

func withType(p iceberg.Properties, t string) iceberg.Properties {
	p["type"] = t
	return p
}

// closeCatalog closes cat if it holds resources.
func closeCatalog(cat catalog.Catalog) error {
	if c, ok := cat.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// ident splits "ns.table" (the last dot separates the table).
func ident(name string) table.Identifier {
	return catalog.ToIdentifier(strings.Split(name, ".")...)
}

// ErrNoTable means a table does not exist and auto-create is off.
var ErrNoTable = errors.New("table does not exist")

// loadOrCreate loads the table, creating it (and its namespace) when
// create is set. A concurrent creation by another task is not an error.
func loadOrCreate(ctx context.Context, cat catalog.Catalog, name string, create func() (*iceberg.Schema, iceberg.PartitionSpec, error)) (*table.Table, error) {
	id := ident(name)
	tbl, err := cat.LoadTable(ctx, id)
	if err == nil {
		return tbl, nil
	}
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, fmt.Errorf("load table %s: %w", name, err)
	}
	if create == nil {
		return nil, fmt.Errorf("table %s: %w (create it, or set iceberg.tables.auto-create-enabled=true)", name, ErrNoTable)
	}
	sc, spec, err := create()
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	ns := catalog.NamespaceFromIdent(id)
	if len(ns) > 0 {
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			return nil, fmt.Errorf("create namespace %s: %w", strings.Join(ns, "."), err)
		}
	}
	tbl, err = cat.CreateTable(ctx, id, sc, catalog.WithPartitionSpec(&spec))
	if err != nil {
		if errors.Is(err, catalog.ErrTableAlreadyExists) {
			return cat.LoadTable(ctx, id)
		}
		return nil, fmt.Errorf("create table %s: %w", name, err)
	}
	return tbl, nil
}

// CatalogOptions returns where c's catalog and warehouse are.
func (c *Config) CatalogOptions() CatalogOptions { return c.options() }

// CloseCatalog closes cat if it holds resources (the SQL catalog's
// database handle).
func CloseCatalog(cat catalog.Catalog) error { return closeCatalog(cat) }

// Ident returns the identifier of a "namespace.table" name.
func Ident(name string) table.Identifier { return ident(name) }
