package kafka

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/connectd/connectd/internal/embedkafka"
)

func TestClusterID(t *testing.T) {
	b, err := embedkafka.New(embedkafka.Config{Addr: "127.0.0.1:0", ClusterID: "cid-test-42"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := NewClient([]string{b.Addr()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Admin().ClusterID(context.Background())
	if err != nil || id != "cid-test-42" {
		t.Fatalf("ClusterID = %q, %v; want cid-test-42", id, err)
	}
}
