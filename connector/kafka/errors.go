package kafka

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/IBM/sarama"
)

// isProducerFenced reports whether err says a newer producer owns the
// transactional id.
func isProducerFenced(err error) bool {
	return errors.Is(err, sarama.ErrProducerFenced) ||
		errors.Is(err, sarama.ErrInvalidProducerEpoch) ||
		errors.Is(err, sarama.ErrTransactionCoordinatorFenced)
}

// isGenerationFenced reports whether err says the consumer group
// generation the offsets were committed for is no longer current: the
// partitions belong to someone else now (KIP-447).
func isGenerationFenced(err error) bool {
	return errors.Is(err, sarama.ErrIllegalGeneration) ||
		errors.Is(err, sarama.ErrUnknownMemberId) ||
		errors.Is(err, sarama.ErrFencedInstancedId)
}

// isTransient reports whether err is a failure that may pass if the same
// request is made again: a timeout, a coordinator that moved or is
// loading, a leader election, a broken connection. It follows the Java
// client's RetriableException family.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrInvalidMessage, sarama.ErrUnknownTopicOrPartition, sarama.ErrLeaderNotAvailable,
			sarama.ErrNotLeaderForPartition, sarama.ErrRequestTimedOut, sarama.ErrReplicaNotAvailable,
			sarama.ErrNetworkException, sarama.ErrOffsetsLoadInProgress, sarama.ErrConsumerCoordinatorNotAvailable,
			sarama.ErrNotCoordinatorForConsumer, sarama.ErrNotEnoughReplicas, sarama.ErrNotEnoughReplicasAfterAppend,
			sarama.ErrNotController, sarama.ErrConcurrentTransactions, sarama.ErrKafkaStorageError,
			sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch, sarama.ErrOffsetNotAvailable,
			sarama.ErrPreferredLeaderNotAvailable, sarama.ErrEligibleLeadersNotAvailable,
			sarama.ErrUnstableOffsetCommit, sarama.ErrThrottlingQuotaExceeded, sarama.ErrRebalanceInProgress:
			return true
		}
	}
	if errors.Is(err, sarama.ErrOutOfBrokers) || errors.Is(err, sarama.ErrNotConnected) ||
		errors.Is(err, sarama.ErrAddPartitionsToTxn) || errors.Is(err, sarama.ErrTxnOffsetCommit) ||
		errors.Is(err, sarama.ErrIncompleteResponse) || errors.Is(err, sarama.ErrTxnUnableToParseResponse) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// isFatalConsumerError reports whether a consumer group error will not go
// away by joining again: bad configuration or missing authorization.
func isFatalConsumerError(err error) bool {
	var cerr sarama.ConfigurationError
	if errors.As(err, &cerr) {
		return true
	}
	return errors.Is(err, sarama.ErrGroupAuthorizationFailed) ||
		errors.Is(err, sarama.ErrTopicAuthorizationFailed) ||
		errors.Is(err, sarama.ErrClusterAuthorizationFailed) ||
		errors.Is(err, sarama.ErrInvalidGroupId) ||
		errors.Is(err, sarama.ErrFencedInstancedId) ||
		errors.Is(err, sarama.ErrClosedConsumerGroup)
}
