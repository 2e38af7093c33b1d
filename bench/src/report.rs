//! The comparison table: one column per server kind that ran, how much better confab is than Node,
//! what the durable log costs against the log in memory, and the targets.

use std::{cell::RefCell, collections::BTreeMap};

use confab_bench::stats::median;

use crate::{ms, servers::ServerKind, Measured, Scenario, Sizes};

/// One row of the comparison: a metric and its value for every server kind.
pub struct Row {
    scenario: String,
    metric: String,
    values: Vec<String>,
    /// confab ÷ Node, the better way round ("–" when either is missing).
    ratio: String,
    /// Durable against memory, in % (empty unless both ran).
    durable: String,
    target: String,
}

pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn check(ok: bool, what: &str) -> String {
    format!("{} {what}", if ok { "✅" } else { "❌" })
}

/// The server kinds of one table, and which ones its ratios compare.
pub struct Columns {
    kinds: Vec<ServerKind>,
    nodes: usize,
    /// The confab column the ratios compare with Node: in memory, or the cluster.
    confab: Option<ServerKind>,
    node: Option<ServerKind>,
    /// Both confab in memory and confab durable ran: the "durable vs memory" column.
    durable: bool,
}

impl Columns {
    pub fn new(kinds: &[ServerKind], nodes: usize) -> Self {
        let mut kinds = kinds.to_vec();
        kinds.sort();
        kinds.dedup();
        let has = |k: &ServerKind| kinds.contains(k);
        let confab = [ServerKind::Confab, ServerKind::ConfabCluster, ServerKind::ConfabDurable].into_iter().find(has);
        let node = [ServerKind::Node, ServerKind::NodeCluster].into_iter().find(has);
        let durable = has(&ServerKind::Confab) && has(&ServerKind::ConfabDurable);
        Self { confab, node, durable, nodes, kinds }
    }

    fn cluster(&self) -> bool {
        self.kinds.iter().any(|k| k.is_cluster())
    }

    /// The confab kinds whose results the targets hold to.
    fn confabs(&self) -> impl Iterator<Item = ServerKind> + '_ {
        self.kinds.iter().copied().filter(|k| !k.is_node())
    }

    pub fn table(&self, rows: &[Row]) -> String {
        let labels: Vec<String> = self.kinds.iter().map(|k| k.label(self.nodes)).collect();
        let durable = if self.durable { " durable vs memory |" } else { "" };
        let mut s = format!("| scenario | metric | {} | confab better by |{durable} target |\n", labels.join(" | "));
        s +=
            &format!("|---|---|{}---:|{}---|\n", "---:|".repeat(labels.len()), if self.durable { "---:|" } else { "" });
        let mut last = String::new();
        for r in rows {
            let scenario = if r.scenario == last { String::new() } else { format!("**{}**", r.scenario) };
            last = r.scenario.clone();
            let durable = if self.durable { format!(" {} |", r.durable) } else { String::new() };
            s += &format!(
                "| {scenario} | {} | {} | {} |{durable} {} |\n",
                r.metric,
                r.values.join(" | "),
                r.ratio,
                r.target
            );
        }
        s
    }

    /// The rows of one scenario from every repeat of every server kind.
    pub fn rows(&self, scenario: Scenario, sizes: &Sizes, runs: &BTreeMap<ServerKind, Vec<Measured>>) -> Vec<Row> {
        let of = |k: ServerKind| runs.get(&k).map(Vec::as_slice).unwrap_or(&[]);
        let median_of = |k: ServerKind, f: &dyn Fn(&Measured) -> f64| median(of(k).iter().map(f));
        let least_of = |k: ServerKind, f: &dyn Fn(&Measured) -> f64| {
            of(k).iter().map(f).fold(f64::NAN, |a, b| if a.is_nan() { b } else { a.min(b) })
        };
        let sum = |k: ServerKind, f: &dyn Fn(&Measured) -> u64| of(k).iter().map(f).sum::<u64>();
        let title = format!("{scenario:?} ({})", scenario.describe(sizes)).to_lowercase();
        let out = RefCell::new(Vec::new());
        let text_row = |metric: &str, value: &dyn Fn(ServerKind) -> String, target: String| {
            out.borrow_mut().push(Row {
                scenario: title.clone(),
                metric: metric.to_owned(),
                values: self.kinds.iter().map(|&k| value(k)).collect(),
                ratio: String::new(),
                durable: String::new(),
                target,
            })
        };
        // lower is better: ratio = node / confab; higher is better: ratio = confab / node
        // Of every run of a kind: `aggregate` (median, least) of `f`.
        type Aggregate<'a> = &'a dyn Fn(ServerKind, &dyn Fn(&Measured) -> f64) -> f64;
        // The target's verdict from the row's value of each kind and the confab ÷ Node ratio.
        type Target<'a> = &'a dyn Fn(&dyn Fn(ServerKind) -> f64, f64) -> String;
        let push_by =
            |metric: &str, aggregate: Aggregate, f: &dyn Fn(&Measured) -> f64, lower_better: bool, target: Target| {
                let value = |k: ServerKind| aggregate(k, f);
                let ratio = match (self.confab, self.node) {
                    (Some(c), Some(n)) if lower_better => value(n) / value(c),
                    (Some(c), Some(n)) => value(c) / value(n),
                    _ => f64::NAN,
                };
                let shown = if metric.contains("CPU %") {
                    String::new()
                } else if ratio.is_finite() {
                    format!("{ratio:.1}×")
                } else {
                    "–".into()
                };
                let change = 100.0 * (value(ServerKind::ConfabDurable) / value(ServerKind::Confab) - 1.0);
                let durable =
                    if self.durable && change.is_finite() { format!("{change:+.1} %") } else { String::new() };
                out.borrow_mut().push(Row {
                    scenario: title.clone(),
                    metric: metric.to_owned(),
                    values: self.kinds.iter().map(|&k| fmt(value(k))).collect(),
                    ratio: shown,
                    durable,
                    target: target(&value, ratio),
                });
            };
        let push = |metric: &str, f: &dyn Fn(&Measured) -> f64, lower_better: bool, target: Target| {
            push_by(metric, &median_of, f, lower_better, target)
        };
        let none = |_: &dyn Fn(ServerKind) -> f64, _: f64| String::new();
        let cluster = self.cluster();
        let (servers, all_nodes) = if cluster { ("servers", "all nodes, ") } else { ("server", "") };
        let peak_rss = format!("{servers} peak RSS MB{}", if cluster { " (all nodes)" } else { "" });
        // Who used the machine during the run: the same rows for every loaded scenario.
        let resource_rows = || {
            push(&format!("{servers} CPU % ({all_nodes}of one core)"), &|m| m.server_cpu_pct, true, &none);
            if cluster {
                push("Redis CPU % (of one core)", &|m| m.redis_cpu_pct, true, &none);
            }
            push("load generator CPU %", &|m| m.generator_cpu_pct, true, &none);
            push("whole machine CPU % (all cores, others too)", &|m| m.machine_busy_pct, true, &none);
            push("other programs' CPU % (of one core)", &|m| m.others_cpu_pct, true, &none);
            push(&peak_rss, &|m| m.peak_rss_mb, true, &none);
            if cluster {
                push("Redis peak RSS MB", &|m| m.redis_peak_rss_mb, true, &none);
            }
        };
        let clients = scenario.params(sizes).clients as f64;
        // A target is met when every confab kind that ran meets it (and one did).
        let confabs_all = |ok: &dyn Fn(ServerKind) -> bool| self.confabs().next().is_some() && self.confabs().all(ok);
        match scenario {
            Scenario::Chat | Scenario::Fanout | Scenario::Saturation => {
                push_by("registered (min of runs)", &least_of, &|m| m.client.connected as f64, false, &|v, _| {
                    if scenario == Scenario::Fanout {
                        check(confabs_all(&|k| v(k) >= clients), "all registered")
                    } else {
                        String::new()
                    }
                });
                push("deliveries/s", &|m| m.client.deliveries_per_second(), false, &|v, r| {
                    let mut targets = Vec::new();
                    if scenario == Scenario::Saturation {
                        targets.push(check(r >= 10.0, "≥ 10×"));
                        if self.durable {
                            let share = v(ServerKind::ConfabDurable) / v(ServerKind::Confab);
                            targets.push(check(share >= 0.85, "durable ≥ 85 % of memory"));
                        }
                    }
                    targets.join("; ")
                });
                push("latency p50 ms", &|m| ms(m.client.latency.p50), true, &none);
                push("latency p90 ms", &|m| ms(m.client.latency.p90), true, &none);
                push("latency p99 ms", &|m| ms(m.client.latency.p99), true, &|v, _| {
                    let bound = if cluster { 50.0 } else { 100.0 };
                    if scenario == Scenario::Fanout {
                        check(confabs_all(&|k| v(k) <= bound), &format!("≤ {bound} ms"))
                    } else {
                        String::new()
                    }
                });
                push("latency max ms", &|m| ms(m.client.latency.max), true, &none);
                let cpu_metric = if cluster {
                    "CPU ms / 1000 deliveries (all nodes + Redis)"
                } else {
                    "server CPU ms / 1000 deliveries"
                };
                push(cpu_metric, &|m| m.cpu_ms_per_1k, true, &|v, r| {
                    let mut targets = Vec::new();
                    if !cluster {
                        targets.push(check(r >= 5.0, "≥ 5×"));
                    }
                    if self.durable && scenario != Scenario::Saturation {
                        let change = v(ServerKind::ConfabDurable) / v(ServerKind::Confab) - 1.0;
                        targets.push(check(change <= 0.15, "durable ≤ +15 %"));
                    }
                    targets.join("; ")
                });
                resource_rows();
                let losses =
                    |k| sum(k, &|m| m.client.lost + m.client.duplicated + m.client.out_of_order + m.client.wrong_from);
                let detail = |k| {
                    format!(
                        "{}/{}/{} (dropped clients {})",
                        sum(k, &|m| m.client.lost),
                        sum(k, &|m| m.client.duplicated),
                        sum(k, &|m| m.client.out_of_order),
                        sum(k, &|m| m.client.dropped_clients as u64)
                    )
                };
                let exact = confabs_all(&|k| losses(k) == 0 && sum(k, &|m| m.client.deliveries) > 0);
                let node_exact = self.kinds.iter().filter(|k| k.is_node()).all(|&k| losses(k) == 0);
                text_row(
                    "lost/dup/reordered per sender, all runs",
                    &detail,
                    check(exact, "exact") + if node_exact { "" } else { " (node not exact)" },
                );
                if cluster {
                    let order = |k| {
                        let (mut out, mut compared, mut receivers) = (0, 0, 0);
                        for run in of(k).iter().filter_map(|m| m.client.global_order) {
                            out += run.out_of_order;
                            compared += run.compared;
                            receivers += run.receivers_differing;
                        }
                        (out, compared, receivers)
                    };
                    let one_order = confabs_all(&|k| order(k).0 == 0 && order(k).1 > 0);
                    let node_one_order = self.kinds.iter().filter(|k| k.is_node()).all(|&k| order(k).0 == 0);
                    text_row(
                        "out of one order across senders / compared (receivers differing), all runs",
                        &|k| {
                            let (out, compared, receivers) = order(k);
                            format!("{out} / {compared} ({receivers})")
                        },
                        check(one_order, "one order") + if node_one_order { "" } else { " (node: no one order)" },
                    );
                }
            }
            Scenario::Connect => {
                let failures = |k| sum(k, &|m| m.client.connect_failures as u64 + m.client.register_retries);
                text_row(
                    "failures / lost registers, all runs",
                    &|k| {
                        format!(
                            "{} / {}",
                            sum(k, &|m| m.client.connect_failures as u64),
                            sum(k, &|m| m.client.register_retries)
                        )
                    },
                    check(confabs_all(&|k| failures(k) == 0), "0 failures"),
                );
                push("connect+register /s", &|m| m.client.connect_rate(), false, &|_, r| check(r >= 5.0, "≥ 5×"));
                push("per-client connect+register p50 ms", &|m| ms(m.client.handshake.p50), true, &none);
                push("per-client connect+register p99 ms", &|m| ms(m.client.handshake.p99), true, &none);
                push(&format!("{servers} CPU ms / registration"), &|m| m.cpu_ms_per_register, true, &none);
                resource_rows();
                push(&format!("{servers} KB per registered connection"), &|m| m.kb_per_conn, true, &none);
            }
            Scenario::Idle => {
                push_by("connected (min of runs)", &least_of, &|m| m.client.connected as f64, false, &|v, _| {
                    check(confabs_all(&|k| v(k) >= clients), "all connected")
                });
                push("connect /s", &|m| m.client.connect_rate(), false, &none);
                push("per-client connect p99 ms", &|m| ms(m.client.handshake.p99), true, &none);
                push(&format!("{servers} KB per idle connection"), &|m| m.kb_per_conn, true, &|v, _| {
                    check(confabs_all(&|k| v(k) <= 30.0), "≤ 30 KB")
                });
                push(&peak_rss, &|m| m.peak_rss_mb, true, &none);
            }
        }
        out.into_inner()
    }
}
