package connector

import (
	"fmt"
	"time"
)

// TopicPartition names one partition of a Kafka topic. It is comparable and
// is the key of every offset map in this package.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String renders tp as "topic-partition", the form Kafka tools print.
func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka record as it moves through a sink task: consumed,
// converted, transformed, then handed to Sink.Write. Key and Value are the
// raw bytes; the framework never copies them, so a sink that keeps a record
// beyond Write must keep the slices it was given (they are not reused).
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Timestamp time.Time
	Headers   []Header
}

// TP returns the record's topic-partition.
func (r *Record) TP() TopicPartition { return TopicPartition{r.Topic, r.Partition} }

// Header returns the value of the last header named key, or nil.
func (r *Record) Header(key string) []byte {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return r.Headers[i].Value
		}
	}
	return nil
}

// ProducerRecord is a record the framework writes to Kafka: source output,
// dead-letter records, source offsets. Partition < 0 lets the producer pick
// a partition from the key.
type ProducerRecord struct {
	Topic     string
	Partition int32
	Key       []byte
	Value     []byte
	Timestamp time.Time
	Headers   []Header
}
