package generator

// The shop the generated visitors browse. These tables are constant data:
// the engine reads them and never writes them. Order matters: weights and
// Zipf ranks follow the order of the entries, and changing a table changes
// every stream, so tests pin a generated event byte for byte.

const siteURL = "https://shop.example.com"

// categories are the product categories; product k belongs to category
// k % len(categories), so the Zipf skew of products skews categories too.
var categories = [...]string{
	"shoes", "clothing", "electronics", "kitchen", "beauty", "sports",
	"toys", "books", "garden", "jewelry", "grocery", "automotive",
}

// numProducts is the size of the catalog; product k has the page
// /p/<category>/<10000+k>.
const numProducts = 1200

// firstProductID is the number in the URL of product 0.
const firstProductID = 10000

// priceTiers are product prices in US cents; product k costs
// priceTiers[mix64(k+1) % len].
var priceTiers = [...]int64{
	499, 999, 1499, 1999, 2499, 2999, 3499, 3999, 4999, 5999,
	7999, 9999, 12999, 14999, 19999, 24999, 34999, 49999,
}

// browsePage is a page that is not a product: the home page, category
// pages, campaign and service pages.
type browsePage struct {
	path     string
	category string
}

// browsePages are in popularity order (Zipf rank 1 first).
var browsePages = [...]browsePage{
	{"/", "home"},
	{"/deals", "deals"},
	{"/c/shoes", "shoes"},
	{"/c/clothing", "clothing"},
	{"/new-arrivals", "new"},
	{"/c/electronics", "electronics"},
	{"/c/kitchen", "kitchen"},
	{"/c/beauty", "beauty"},
	{"/c/sports", "sports"},
	{"/account", "account"},
	{"/c/toys", "toys"},
	{"/c/books", "books"},
	{"/blog/gift-ideas", "blog"},
	{"/c/garden", "garden"},
	{"/c/jewelry", "jewelry"},
	{"/help", "help"},
	{"/c/grocery", "grocery"},
	{"/c/automotive", "automotive"},
	{"/stores", "stores"},
	{"/blog/style-guide", "blog"},
}

// searchTerms are search queries, already URL-encoded, in popularity order.
var searchTerms = [...]string{
	"running+shoes", "wireless+earbuds", "summer+dress", "air+fryer", "sneakers",
	"phone+case", "yoga+mat", "lego", "coffee+maker", "backpack",
	"smart+watch", "jeans", "gift+card", "sunscreen", "desk+lamp",
	"board+games", "rain+jacket", "cookbook", "garden+hose", "car+charger",
}

// trafficSource is where a session comes from: its referrer and UTM tags.
// Direct and e-mail traffic have no referrer (an empty string, as a
// browser reports it); organic search has no UTM tags (empty strings).
type trafficSource struct {
	weight    uint64
	referrer  string
	utmSource string
	utmMedium string
	campaign  bool // whether sessions from it carry a utm_campaign
}

// trafficSources are weighted per mille.
var trafficSources = [...]trafficSource{
	{380, "https://www.google.com/", "", "", false},
	{220, "", "", "", false},
	{90, "https://www.google.com/", "google", "cpc", true},
	{80, "https://www.facebook.com/", "facebook", "social", true},
	{70, "", "newsletter", "email", true},
	{50, "https://l.instagram.com/", "instagram", "social", true},
	{40, "https://www.bing.com/", "", "", false},
	{30, "https://blog.example.net/gift-guide", "partner_blog", "referral", true},
	{20, "https://t.co/", "twitter", "social", true},
	{20, "https://duckduckgo.com/", "", "", false},
}

// campaigns are the utm_campaign values of tagged traffic.
var campaigns = [...]string{
	"spring_sale", "summer_sale", "back_to_school", "black_friday",
	"holiday_gifts", "brand", "retargeting", "new_arrivals",
}

// country is where a user is, with the currency they pay in. A price of
// c US cents is c*num/den minor units of the currency, written with
// decimals digits after the point.
type country struct {
	weight   uint64
	code     string
	currency string
	num, den int64
	decimals int
}

// countries are weighted per mille.
var countries = [...]country{
	{330, "US", "USD", 1, 1, 2},
	{100, "GB", "GBP", 79, 100, 2},
	{90, "DE", "EUR", 92, 100, 2},
	{80, "IN", "INR", 83, 1, 2},
	{60, "FR", "EUR", 92, 100, 2},
	{50, "BR", "BRL", 5, 1, 2},
	{50, "CA", "CAD", 136, 100, 2},
	{40, "JP", "JPY", 150, 100, 0},
	{35, "AU", "AUD", 152, 100, 2},
	{30, "NL", "EUR", 92, 100, 2},
	{30, "ES", "EUR", 92, 100, 2},
	{30, "IT", "EUR", 92, 100, 2},
	{30, "MX", "MXN", 17, 1, 2},
	{20, "SE", "SEK", 105, 10, 2},
	{25, "PL", "PLN", 4, 1, 2},
}

// device is a device type with the user agents seen on it.
type device struct {
	weight uint64
	name   string
	agents []string // in popularity order, weighted 1/rank
}

// devices are weighted per mille.
var devices = [...]device{
	{580, "mobile", []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
	}},
	{350, "desktop", []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	}},
	{70, "tablet", []string{
		"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	}},
}

// durationBucket is a range [lo, hi) of duration_ms values with a weight.
type durationBucket struct {
	weight uint64
	lo, hi int64
}

// durations are the duration_ms distributions by event type, weighted per
// mille: a long tail for page views, short clicks, slow checkouts.
var durations = [numEventTypes][]durationBucket{
	evPageView:  {{300, 500, 3000}, {400, 3000, 15000}, {220, 15000, 60000}, {80, 60000, 300000}},
	evClick:     {{700, 50, 600}, {300, 600, 2500}},
	evSearch:    {{600, 1000, 5000}, {400, 5000, 20000}},
	evAddToCart: {{800, 200, 2000}, {200, 2000, 8000}},
	evPurchase:  {{500, 2000, 10000}, {500, 10000, 45000}},
}

// eventTypeNames are the event_type values, indexed by eventType.
var eventTypeNames = [numEventTypes]string{
	evPageView:  "page_view",
	evClick:     "click",
	evSearch:    "search",
	evAddToCart: "add_to_cart",
	evPurchase:  "purchase",
}

// eventType is what a visitor did.
type eventType uint8

const (
	evPageView eventType = iota
	evClick
	evSearch
	evAddToCart
	evPurchase
	numEventTypes
)

// EventTypes lists the event_type values the generator writes, in funnel
// order.
func EventTypes() []string { return append([]string(nil), eventTypeNames[:]...) }
