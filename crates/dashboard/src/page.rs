//! The page: a sign-in form, a tab list and one panel per tab. Panels hold the controls and
//! empty containers (with `aria-live` where answers appear); the scripts fill them from the API.

use maud::{html, Markup, DOCTYPE};

/// A tab: its id (also the URL fragment, `#classify`), its title and its panel.
struct Tab {
    id: &'static str,
    title: &'static str,
    panel: fn() -> Markup,
}

const TABS: &[Tab] = &[
    Tab { id: "classify", title: "Classify", panel: classify },
    Tab { id: "models", title: "Models", panel: models },
    Tab { id: "route", title: "Route", panel: route },
    Tab { id: "deployment", title: "Deployment", panel: deployment },
    Tab { id: "monitoring", title: "Monitoring", panel: monitoring },
    Tab { id: "analytics", title: "Analytics", panel: analytics },
];

/// The whole page; `scripts` are the asset names to load, in order.
pub fn render(scripts: impl Iterator<Item = &'static str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Infergate" }
                // No favicon request (it would be a 401 under the key check).
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/assets/app.css";
                @for s in scripts {
                    script src={ "/assets/" (s) } defer {}
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    h1 { "Infergate" }
                    p #whoami .muted hidden {}
                    button #sign-out type="button" hidden { "Sign out" }
                }
                main #main {
                    (sign_in())
                    div #app hidden {
                        nav aria-label="Sections" {
                            div role="tablist" aria-label="Dashboard sections" #tabs {
                                @for (i, t) in TABS.iter().enumerate() {
                                    button role="tab" type="button" id={ "tab-" (t.id) } data-tab=(t.id)
                                        aria-controls={ "panel-" (t.id) }
                                        aria-selected=(if i == 0 { "true" } else { "false" })
                                        tabindex=(if i == 0 { "0" } else { "-1" }) { (t.title) }
                                }
                            }
                        }
                        @for (i, t) in TABS.iter().enumerate() {
                            section role="tabpanel" id={ "panel-" (t.id) } aria-labelledby={ "tab-" (t.id) }
                                tabindex="0" hidden[i != 0] {
                                h2 { (t.title) }
                                (( t.panel )())
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sign_in() -> Markup {
    html! {
        section #signin aria-labelledby="signin-title" {
            h2 #signin-title { "Sign in" }
            p { "Paste an API key (" code { "infergate keys create" } ", or the admin key the server printed on its \
                 first start). It stays in this tab's session storage and is sent only as an "
                code { "Authorization" } " header to this server." }
            form #signin-form {
                label for="api-key" { "API key" }
                input #api-key name="api-key" type="password" autocomplete="off" spellcheck="false" required
                    placeholder="ig_…";
                button type="submit" { "Sign in" }
            }
            p #signin-error .error role="alert" {}
        }
    }
}

fn classify() -> Markup {
    html! {
        form #classify-form {
            label #drop .drop for="classify-file" {
                span { "Drop an image here, or choose one" }
                input #classify-file name="image" type="file" accept="image/jpeg,image/png,image/webp";
            }
            div .row {
                label for="classify-model" { "Model" }
                select #classify-model name="model" { option value="" { "default" } }
            }
        }
        div #classify-status .muted role="status" aria-live="polite" {}
        div #classify-result .card hidden {
            div .result-head {
                img #classify-preview alt="The image sent";
                div {
                    p .big { span #classify-label {} " " span #classify-confidence .muted {} }
                    p #classify-flags {}
                    p #classify-model-used .muted {}
                }
            }
            div .cols {
                table #classify-top {
                    caption { "Top 5 classes" }
                    thead { tr { th scope="col" { "class" } th scope="col" .num { "score" } } }
                    tbody {}
                }
                table #classify-timings {
                    caption { "Timings (ms)" }
                    thead { tr { th scope="col" { "stage" } th scope="col" .num { "ms" } } }
                    tbody {}
                }
            }
        }
        h3 { "Recent" }
        ul #classify-history .thumbs aria-live="polite" {}
    }
}

fn models() -> Markup {
    html! {
        p .muted { "Every registered version; activating loads the version first, rolling back returns to the \
                    version active before. The profile (parameters, multiply-accumulates, size) is read from \
                    each file's graph." }
        div #models-status role="status" aria-live="polite" {}
        div .table-wrap {
            table #models-table {
                caption { "Model versions" }
                thead { tr {
                    th scope="col" { "model" } th scope="col" .num { "version" } th scope="col" { "state" }
                    th scope="col" { "task" } th scope="col" .num { "warm instances" } th scope="col" .num { "params" }
                    th scope="col" .num { "MACs" } th scope="col" .num { "size (MB)" } th scope="col" { "actions" }
                } }
                tbody {}
            }
        }
        form #warm-form {
            label for="warm-model" { "Warm" }
            select #warm-model name="model" {}
            label for="warm-count" { "instances" }
            input #warm-count name="count" type="number" min="1" max="16" value="1" inputmode="numeric";
            button type="submit" { "Warm" }
        }
    }
}

fn deployment() -> Markup {
    html! {
        div .table-wrap {
            table #devices-table {
                caption { "Devices" }
                thead { tr {
                    th scope="col" { "device" } th scope="col" { "type" } th scope="col" { "state" }
                    th scope="col" { "agent status" } th scope="col" { "model" } th scope="col" { "last heartbeat" }
                } }
                tbody {}
            }
        }
        form #deploy-form {
            label for="deploy-device" { "Device" }
            select #deploy-device name="device" {}
            label for="deploy-model" { "Model" }
            select #deploy-model name="model" {}
            label for="deploy-budget" { "Energy budget (mWh per inference)" }
            input #deploy-budget name="budget" type="number" min="0" step="any" inputmode="decimal" required;
            button type="submit" { "Deploy" }
        }
        div #deploy-status role="status" aria-live="polite" {}
        div .table-wrap {
            table #energy-table {
                caption #energy-caption { "Predicted energy per inference on the chosen device" }
                thead { tr {
                    th scope="col" { "model" } th scope="col" .num { "mWh" } th scope="col" { "90 % interval" }
                    th scope="col" { "category" } th scope="col" { "source" }
                } }
                tbody {}
            }
        }
        div .table-wrap {
            table #deployments-table {
                caption { "Deployments (newest first)" }
                thead { tr {
                    th scope="col" { "when" } th scope="col" { "device" } th scope="col" { "model" }
                    th scope="col" { "state" } th scope="col" .num { "predicted mWh" } th scope="col" .num { "budget mWh" }
                } }
                tbody {}
            }
        }
    }
}

fn monitoring() -> Markup {
    html! {
        p .muted { "Refreshes every 5 seconds while this tab is open." }
        form #monitor-form {
            label for="monitor-device" { "Device" }
            select #monitor-device name="device" {}
        }
        div .charts {
            figure {
                img #telemetry-chart .chart alt="Device telemetry chart (loading)";
                figcaption #telemetry-caption .muted {}
            }
            figure {
                img #latency-chart .chart alt="Gateway latency chart (loading)";
                figcaption .muted { "Classification latency, p50 and p95 per minute (last hour)" }
            }
            figure {
                img #throughput-chart .chart alt="Gateway throughput chart (loading)";
                figcaption .muted { "Classifications per minute (last hour)" }
            }
        }
        div .cols {
            table #latest-table {
                caption { "Latest telemetry sample" }
                thead { tr { th scope="col" { "field" } th scope="col" .num { "value" } } }
                tbody {}
            }
            table #gateway-table {
                caption { "Gateway, last hour" }
                thead { tr { th scope="col" { "measure" } th scope="col" .num { "value" } } }
                tbody {}
            }
        }
        div .table-wrap {
            table #alarms-table {
                caption { "Open alarms" }
                thead { tr {
                    th scope="col" { "raised" } th scope="col" { "alarm" } th scope="col" { "message" }
                } }
                tbody {}
            }
        }
    }
}

fn route() -> Markup {
    html! {
        h3 { "Where should this workload run? (" code { "POST /predict" } ")" }
        form #predict-form {
            label for="predict-type" { "Workload type" }
            select #predict-type name="workload_type" {
                @for t in ["lightweight_api", "thumbnail_processing", "medium_processing", "heavy_processing"] {
                    option value=(t) { (t) }
                }
            }
            label for="predict-payload" { "Payload (KB)" }
            input #predict-payload name="payload_size_kb" type="number" min="0" step="any" value="5" inputmode="decimal";
            label for="predict-window" { "Time window" }
            select #predict-window name="time_window" {
                @for t in ["morning", "midday", "evening", "night"] { option value=(t) { (t) } }
            }
            label for="predict-load" { "Load" }
            select #predict-load name="load_pattern" {
                @for t in ["low_load", "medium_load", "burst_load"] { option value=(t) { (t) } }
            }
            button type="submit" { "Predict" }
        }
        div #predict-result role="status" aria-live="polite" {}
        h3 { "Latest evaluation (" code { "infergate route evaluate" } ")" }
        p #evaluation-when .muted {}
        div .table-wrap {
            table #evaluation-table {
                caption { "Strategies" }
                thead { tr {
                    th scope="col" { "strategy" } th scope="col" .num { "requests" } th scope="col" .num { "mean ms" }
                    th scope="col" .num { "p95 ms" } th scope="col" .num { "cost (USD)" } th scope="col" .num { "regret" }
                    th scope="col" .num { "over SLO" } th scope="col" .num { "throttled" }
                } }
                tbody {}
            }
        }
        div #evaluation-charts .charts {}
        h3 { "Live invocations per platform" }
        div .table-wrap {
            table #invocations-table {
                caption { "Invocations recorded by " code { "POST /v1/invoke" } }
                thead { tr {
                    th scope="col" { "function" } th scope="col" { "platform" } th scope="col" .num { "total" }
                    th scope="col" .num { "ok" } th scope="col" .num { "cold starts" }
                } }
                tbody {}
            }
        }
    }
}

fn analytics() -> Markup {
    html! {
        h3 { "History" }
        form #history-form {
            label for="history-label" { "Label" }
            input #history-label name="label" type="text" placeholder="cat" autocomplete="off";
            label for="history-model" { "Model" }
            input #history-model name="model" type="text" placeholder="mobilenet" autocomplete="off";
            label for="history-since" { "Since" }
            input #history-since name="since" type="datetime-local";
            button type="submit" { "Filter" }
        }
        p #history-count .muted role="status" aria-live="polite" {}
        div .table-wrap {
            table #history-table {
                caption { "Classifications (newest first)" }
                thead { tr {
                    th scope="col" { "when" } th scope="col" { "label" } th scope="col" .num { "confidence" }
                    th scope="col" { "model" } th scope="col" .num { "total ms" } th scope="col" { "cached" }
                    th scope="col" .num { "cost (USD)" }
                } }
                tbody {}
            }
        }
        button #history-more .secondary type="button" hidden { "More" }
        div .charts {
            figure {
                img #cost-chart .chart alt="Cost per 1,000 classifications chart (loading)";
                figcaption .muted { "Cost per 1,000 classifications, per minute (last hour)" }
            }
            figure {
                img #energy-chart .chart alt="Energy predicted vs measured chart (loading)";
                figcaption .muted { "Energy per inference: predicted vs measured, per device" }
            }
        }
        div .table-wrap {
            table #energy-compare-table {
                caption { "Energy per inference on each device's deployed model" }
                thead { tr {
                    th scope="col" { "device" } th scope="col" { "model" } th scope="col" .num { "predicted mWh" }
                    th scope="col" .num { "measured mWh" } th scope="col" { "measured by" } th scope="col" .num { "error" }
                } }
                tbody {}
            }
        }
    }
}
