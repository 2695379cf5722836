//! Prometheus metrics: requests by route and status, request latency, and background jobs.
//! Served as text by `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::JobCounts;

/// Every metric Herald exports, registered once at start-up and shared by reference.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    jobs_processed: Family<JobLabels, Counter>,
    jobs_by_state: Family<StateLabels, Gauge>,
    csp_violations: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// Latency buckets from 1 ms doubling to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("herald");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let jobs_processed = Family::<JobLabels, Counter>::default();
        let jobs_by_state = Family::<StateLabels, Gauge>::default();
        let csp_violations = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            latency.clone(),
        );
        registry.register(
            "jobs_processed",
            "Background job attempts finished, by kind and outcome",
            jobs_processed.clone(),
        );
        registry.register(
            "jobs",
            "Background jobs in the database, by state",
            jobs_by_state.clone(),
        );
        registry.register(
            "csp_violations",
            "Content-Security-Policy violations reported by browsers",
            csp_violations.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            jobs_processed,
            jobs_by_state,
            csp_violations,
        }
    }

    /// Records one answered request. `route` is the route's pattern (`/posts/{id}`), never the
    /// raw path, so ids and tokens in paths neither leak here nor explode the label count.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub fn record_job(&self, kind: &str, outcome: &'static str) {
        self.jobs_processed
            .get_or_create(&JobLabels {
                kind: kind.to_owned(),
                outcome,
            })
            .inc();
    }

    pub fn record_csp_violation(&self) {
        self.csp_violations.inc();
    }

    /// Renders every metric in the Prometheus text format, with the job counts read just now.
    pub fn render(&self, jobs: JobCounts) -> String {
        for (state, count) in [
            ("queued", jobs.queued),
            ("running", jobs.running),
            ("done", jobs.done),
            ("dead", jobs.dead),
        ] {
            self.jobs_by_state
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
