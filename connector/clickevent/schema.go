package clickevent

// Kind is the type of a known field.
type Kind uint8

// The kinds of known fields.
const (
	// String is a JSON string.
	String Kind = iota
	// Timestamp is an RFC 3339 string (or a JSON number of Unix
	// milliseconds), kept as UTC with millisecond precision.
	Timestamp
	// Int64 is a JSON number with no fraction that fits 64 bits.
	Int64
	// Float64 is any JSON number.
	Float64
)

// String names the kind as error messages do.
func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Timestamp:
		return "timestamp"
	case Int64:
		return "int64"
	case Float64:
		return "float64"
	}
	return "unknown"
}

// Field is one known field of the schema.
type Field struct {
	// Name is the JSON key and the column name.
	Name string
	// Kind is its type.
	Kind Kind
	// Required fields are present in every valid event (the validate
	// transform's defaults); the others may be missing.
	Required bool
	// Doc says what the field holds, for generated table comments.
	Doc string
}

// The indexes of the known fields in Fields(), for FieldSet and Event.Get.
const (
	FieldEventID = iota
	FieldTimestamp
	FieldUserID
	FieldSessionID
	FieldEventType
	FieldPageURL
	FieldPageCategory
	FieldReferrer
	FieldDeviceType
	FieldCountry
	FieldDurationMS
	FieldRevenue
	FieldCurrency
	FieldUTMSource
	FieldUTMMedium
	FieldUTMCampaign
	FieldUserAgent
	// NumFields is the number of known fields.
	NumFields
)

// ExtraColumn is the name sinks give the column holding Event.Extra.
const ExtraColumn = "_extra"

// Fields returns the known fields in column order (a new slice each call).
func Fields() []Field {
	return []Field{
		FieldEventID:      {"event_id", String, true, "unique id of the event (a UUID), the deduplication key"},
		FieldTimestamp:    {"timestamp", Timestamp, true, "event time, UTC, millisecond precision"},
		FieldUserID:       {"user_id", String, true, "the user (the Kafka key)"},
		FieldSessionID:    {"session_id", String, true, "the visit the event belongs to"},
		FieldEventType:    {"event_type", String, true, "page_view, click, search, add_to_cart or purchase"},
		FieldPageURL:      {"page_url", String, true, "the page the event happened on"},
		FieldPageCategory: {"page_category", String, false, "the page's category"},
		FieldReferrer:     {"referrer", String, false, "the referring URL"},
		FieldDeviceType:   {"device_type", String, false, "desktop, mobile or tablet"},
		FieldCountry:      {"country", String, false, "ISO 3166 country code"},
		FieldDurationMS:   {"duration_ms", Int64, false, "time on the page in milliseconds"},
		FieldRevenue:      {"revenue", Float64, false, "order value of a purchase"},
		FieldCurrency:     {"currency", String, false, "ISO 4217 currency of revenue"},
		FieldUTMSource:    {"utm_source", String, false, "campaign source"},
		FieldUTMMedium:    {"utm_medium", String, false, "campaign medium"},
		FieldUTMCampaign:  {"utm_campaign", String, false, "campaign name"},
		FieldUserAgent:    {"user_agent", String, false, "the browser's user agent"},
	}
}

// FieldIndex returns the index of the known field name, or -1.
func FieldIndex(name string) int {
	switch name {
	case "event_id":
		return FieldEventID
	case "timestamp":
		return FieldTimestamp
	case "user_id":
		return FieldUserID
	case "session_id":
		return FieldSessionID
	case "event_type":
		return FieldEventType
	case "page_url":
		return FieldPageURL
	case "page_category":
		return FieldPageCategory
	case "referrer":
		return FieldReferrer
	case "device_type":
		return FieldDeviceType
	case "country":
		return FieldCountry
	case "duration_ms":
		return FieldDurationMS
	case "revenue":
		return FieldRevenue
	case "currency":
		return FieldCurrency
	case "utm_source":
		return FieldUTMSource
	case "utm_medium":
		return FieldUTMMedium
	case "utm_campaign":
		return FieldUTMCampaign
	case "user_agent":
		return FieldUserAgent
	}
	return -1
}

// FieldSet is a set of known fields, bit i for field index i.
type FieldSet uint32

// Has reports whether field index i is in the set.
func (s FieldSet) Has(i int) bool { return s&(1<<uint(i)) != 0 }
